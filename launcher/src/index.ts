// The operator-side application, for front-ends that take all of it at once (@katapult/client). The CLI imports
// each module by its path (@katapult/launcher/<folder>/<module>), so a quick command loads only what it uses.
export { CoordinatorClient } from './stack/client.js';
export { readConfigFile } from './project/config-file.js';
export { findRun, stackContext, type StackContext } from './stack/context.js';
export { fetchRunOutputs, type FetchedJob } from './files/fetch-outputs.js';
export { stopStack, type DownReport } from './stack/local-stack.js';
export { readLogs, type LogReadOptions } from './follow/log-reader.js';
export { withNats, type NatsAccess } from './stack/nats.js';
export { exposureFor, openStack } from './stack/open-stack.js';
export { openLaunchContext, submitLaunch } from './launch/launch-run.js';
export type { LaunchEvent, OnLaunchEvent } from './launch/launch-events.js';
export { buildEnvironments, type BuildContext } from './launch/prepare-images.js';
export { resolveRunFiles } from './files/run-files.js';
export { resolveSecrets } from './project/secrets.js';
export { StateFolder } from './state/state-folder.js';
export { submitRun, type Submission, type SubmittedRun } from './launch/submit-run.js';
export { runOver, watchRun, type WatchOptions } from './follow/watch-run.js';
export type { FollowEvent, OnFollowEvent } from './follow/follow-events.js';
export { launchEventLine } from './lines/launch-lines.js';
export { followEventLine } from './lines/follow-lines.js';
