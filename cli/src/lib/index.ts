// What the CLI's commands are made of, for @katapult/client: one stack, driven the same way from a script.
export { CoordinatorClient } from './client.js';
export { readConfigFile } from './config-file.js';
export { findRun, stackContext, type StackContext } from './context.js';
export { fetchRunOutputs, type FetchedJob } from './fetch-outputs.js';
export { stopStack, type DownReport } from './local-stack.js';
export { readLogs, type LogReadOptions } from './log-reader.js';
export { withNats, type NatsAccess } from './nats.js';
export { exposureFor, openStack } from './open-stack.js';
export { openLaunchContext, submitLaunch } from './launch-run.js';
export { buildEnvironments, type BuildContext } from './prepare-images.js';
export { resolveRunFiles } from './run-files.js';
export { resolveSecrets } from './secrets.js';
export { stateDir } from './state-dir.js';
export { submitRun, type Submission, type SubmittedRun } from './submit-run.js';
export { runOver, watchRun, type WatchOptions } from './watch-run.js';
