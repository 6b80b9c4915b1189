// Core without its schemas and config parser (typebox, yaml: most of core's load time), for what starts often and
// only talks to a stack: a CLI command is started by a person and should answer in a blink. Values that need a
// schema (loadConfig, the codecs, the schemas themselves) stay in "@katapult/core"; their types are here too.
export * from './errors.js';
export { checkRelativePath } from './model/paths.js';
export { shellQuote } from './model/shell.js';
export { ecrRegion, ecrRegistryHost, isDnsName } from './model/registry-host.js';
export { formatMemory, jobMemoryLimit, MIN_MEMORY_BYTES, parseMemory, type MemoryParse } from './model/memory.js';
export { parseDuration, type DurationParse } from './model/duration.js';
export { formatGpus, instanceGpus, noGpuRuntimeMessage } from './model/gpus.js';
export * from './model/job-files.js';
export * from './model/job-user.js';
export * from './model/cost.js';
export { newRunId, RUN_ID_PATTERN } from './model/ids.js';
export * from './lifecycle/job.js';
export * from './scheduler/plan.js';
export * from './scheduler/pool-sizing.js';
export * from './model/pools.js';
export * from './state/cluster-view.js';
export * from './protocol/log-chunks.js';
export * from './timeline/layout.js';
export * from './timeline/svg.js';
export * from './oneshot/script-imports.js';
export * from './oneshot/script-needs.js';
export * from './oneshot/oneshot-config.js';
export { PYTHON_STDLIB, JULIA_STDLIB, PIP_NAME_OF_IMPORT } from './oneshot/stdlib.js';
export * from './protocol/subjects.js';
export * from './lifecycle/orphans.js';
export * from './protocol/nats-users.js';
export type * from './model/run-spec.js';
export type * from './protocol/messages.js';
export type * from './protocol/exec-messages.js';
export type * from './protocol/api.js';
export type { RawConfig } from './config/schema.js';
export type { NormalizeOptions } from './config/normalize.js';
