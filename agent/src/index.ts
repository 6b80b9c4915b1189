export { startAgent, type RunningAgent } from './agent.js';
export { readAgentConfig, type AgentConfig } from './config.js';
export { INTERRUPTED, runJobAttempt, type JobSink } from './runner/job-runner.js';
export { LABELS } from './runner/labels.js';
export { serveExec, type ExecServiceOptions } from './exec/exec-service.js';
export { imagePuller, ImagePullError, pullImage, registryHost, type PullImage } from './runner/image-pull.js';
export {
  ecrAuthSources,
  EcrTokenSource,
  type AuthSourceFor,
  type EcrAuthOptions,
  type RegistryAuthSource,
  type RegistryCredentials,
} from './runner/registry-auth.js';
export { JOB_PIDS_LIMIT } from './runner/host-config.js';
export { buildAgentServer } from './http/server.js';
export { openJobFileStore, type JobFileStore } from './files/file-store.js';
export { readGrantAsker, type AskReadGrant, type AttemptOf } from './files/read-grants.js';
export { InterruptionWatch, parseInstanceAction, type InterruptionWatchOptions, type SpotNotice } from './spot/interruption-watch.js';
