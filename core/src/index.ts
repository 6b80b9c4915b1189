export * from './errors.js';
export { loadConfig } from './config/load.js';
export { ConfigSchema } from './config/schema.js';
export type { RawConfig } from './config/schema.js';
export type { NormalizeOptions } from './config/normalize.js';
export { checkRelativePath } from './model/paths.js';
export { shellQuote } from './model/shell.js';
export { ecrRegion, ecrRegistryHost, isDnsName } from './model/registry-host.js';
export { formatMemory, jobMemoryLimit, MIN_MEMORY_BYTES, parseMemory, type MemoryParse } from './model/memory.js';
export { parseDuration, type DurationParse } from './model/duration.js';
export { formatGpus, instanceGpus, noGpuRuntimeMessage } from './model/gpus.js';
export * from './model/job-files.js';
export * from './model/job-user.js';
export * from './model/run-spec.js';
export * from './model/cost.js';
export { newRunId, RUN_ID_PATTERN } from './model/ids.js';
export * from './lifecycle/job.js';
export * from './scheduler/plan.js';
export * from './scheduler/pool-sizing.js';
export * from './model/pools.js';
export * from './protocol/subjects.js';
export * from './protocol/messages.js';
export * from './protocol/api.js';
export * from './lifecycle/orphans.js';
export * from './protocol/nats-users.js';
<<<<<<< HEAD
export * from './state/cluster-view.js';
=======
export * from './protocol/log-chunks.js';
>>>>>>> logs-chunks
