// Core without its schemas and config parser (typebox, yaml: most of core's load time), for what starts often and
// only talks to a stack: a CLI command is started by a person and should answer in a blink. Values that need a
// schema (loadConfig, the codecs, the schemas themselves) stay in "@katapult/core"; their types are here too.
export * from './errors.js';
export { checkRelativePath } from './model/paths.js';
export { shellQuote } from './model/shell.js';
export { ecrRegion, ecrRegistryHost, isDnsName } from './model/registry-host.js';
export { DEFAULT_MIN_FREE_BYTES, formatFreeBytes, lowDiskMessage, tightestFolder, type FolderSpace } from './model/disk-space.js';
export { formatMemory, jobMemoryLimit, MIN_MEMORY_BYTES, parseMemory, type MemoryParse } from './model/memory.js';
export { parseDuration, type DurationParse } from './model/duration.js';
export { AWS_SDK_NODE_WARNING_SWITCH, quietAwsSdk } from './model/aws-sdk-env.js';
export { formatGpus, instanceGpus, noGpuRuntimeMessage } from './model/gpus.js';
export * from './model/job-files.js';
export * from './model/job-user.js';
export * from './model/job-env.js';
export * from './model/secrets.js';
export * from './model/dependencies.js';
export * from './model/cost.js';
export { newRunId, RUN_ID_PATTERN } from './model/ids.js';
export { jobContainerName } from './model/container-name.js';
export { isCondaFile, isRequirementsFile, scriptPath } from './model/environment-files.js';
export { jobStateCounts, JOB_STATE_ORDER, plural } from './model/words.js';
export * from './lifecycle/job.js';
export * from './scheduler/plan.js';
export * from './scheduler/pool-sizing.js';
export * from './model/pools.js';
export * from './state/cluster-view.js';
export * from './protocol/log-chunks.js';
export * from './protocol/subjects.js';
export * from './protocol/log-senders.js';
export { isStoreLimitRefusal, STREAM_MAX_MSG_BYTES } from './protocol/store-limits.js';
export * from './lifecycle/orphans.js';
export * from './lifecycle/lease.js';
export * from './protocol/nats-users.js';
export type * from './model/run-spec.js';
export type * from './protocol/messages.js';
export type * from './protocol/api.js';
export type { RawConfig } from './config/schema.js';
export type { NormalizeOptions } from './config/normalize.js';
