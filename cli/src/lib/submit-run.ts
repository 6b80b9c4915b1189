import { clusterNames, plural, type RunSpec } from '@katapult/core/light';
import type { EnvironmentImage, ProjectFile } from '@katapult/images';
import { requireApiToken } from './api-token.js';
import { CoordinatorClient } from './client.js';
import { REPO_ROOT, type StackContext } from './context.js';
import { ensureCoordinator } from './local-stack.js';
import { coordinatorUrl, natsUrl, requireNatsAuth } from './stack-file.js';
import { withNats } from './nats.js';
import { prepareAgentImage, publishAgentImage, type BuildContext } from './prepare-images.js';
import { uploadRunFiles } from './run-files.js';
import { formatBytes } from '../render/table.js';

export interface Submission {
  spec: RunSpec;
  /** As the user named it; shown by status. */
  configFile: string;
  environments: readonly EnvironmentImage[];
  projectFiles: readonly ProjectFile[];
  /** The values of the secrets the jobs name (resolveSecrets); sent only in the request that creates the run. */
  secrets?: Record<string, string>;
}

export interface SubmittedRun extends StackContext {
  runId: string;
  /** The same submission was already running (`recover`), so that run is followed instead. */
  resumed: boolean;
}

/** What `launch` does once the images are built: starts the coordinator if needed, stores the run's files, submits the run. */
export async function submitRun(context: BuildContext, submission: Submission, step: (message: string) => void): Promise<SubmittedRun> {
  const { spec, configFile, environments, projectFiles } = submission;
  const dir = context.stateDir;
  const agentImage = await prepareAgentImage(context, REPO_ROOT);
  if (!context.stack) throw new Error('submitRun needs the local stack; a remote maestro goes through submitRemoteRun');
  const stack = await ensureCoordinator(dir, context.stack, agentImage, step);
  // EC2 instances pull the agent image from the run's registry; local agents use this machine's copy.
  const remoteAgentImage = spec.provider === 'aws' ? await publishAgentImage(context, spec, agentImage) : undefined;
  const nats = { url: natsUrl(stack), ...requireNatsAuth(dir).admin };
  const upload = await withNats(nats, (nc) => uploadRunFiles(nc, clusterNames(stack.cluster), projectFiles));
  if (projectFiles.length > 0) step(`files: ${upload.uploaded} uploaded (${formatBytes(upload.bytes)}), ${upload.reused} already stored`);
  const client = new CoordinatorClient(coordinatorUrl(stack), requireApiToken(dir));
  const images = Object.fromEntries(environments.map((image) => [image.name, image.ref]));
  const secrets = submission.secrets && Object.keys(submission.secrets).length > 0 ? { secrets: submission.secrets } : {};
  const created = await client.createRun({ spec, configFile, images, files: upload.files, ...secrets, ...(remoteAgentImage ? { agentImage: remoteAgentImage } : {}) });
  if (created.resumed) step(`run ${created.runId} is already going for this config (recover: true); following it instead of starting it again`);
  else step(`run ${created.runId} submitted: ${plural(spec.jobs.length, 'job')} on ${plural(spec.instances.reduce((n, i) => n + i.number, 0), 'instance')}`);
  return { dir, stack, client, nats, runId: created.runId, resumed: created.resumed };
}
