import { clusterNames, type RunSpec } from '@katapult/core/light';
import type { EnvironmentImage, ProjectFile } from '@katapult/images';
import { requireApiToken } from '../state/api-token.js';
import { CoordinatorClient } from '../stack/client.js';
import { REPO_ROOT, type StackContext } from '../stack/context.js';
import { ensureCoordinator } from '../stack/local-stack.js';
import { coordinatorUrl, natsUrl, requireNatsAuth } from '../state/stack-file.js';
import { withNats } from '../stack/nats.js';
import { prepareAgentImage, publishAgentImage, type BuildContext } from './prepare-images.js';
import { uploadRunFiles } from '../files/run-files.js';
import type { OnLaunchEvent } from './launch-events.js';

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
export async function submitRun(context: BuildContext, submission: Submission, emit: OnLaunchEvent): Promise<SubmittedRun> {
  const { spec, configFile, environments, projectFiles } = submission;
  const state = context.state;
  const agentImage = await prepareAgentImage(context, REPO_ROOT);
  if (!context.stack) throw new Error('submitRun needs the local stack; a remote maestro goes through submitRemoteRun');
  const stack = await ensureCoordinator(state, context.stack, agentImage, (step) => emit({ type: 'step', step }));
  // EC2 instances pull the agent image from the run's registry; local agents use this machine's copy.
  const remoteAgentImage = spec.provider === 'aws' ? await publishAgentImage(context, spec, agentImage) : undefined;
  const nats = { url: natsUrl(stack), ...requireNatsAuth(state).admin };
  // A run without files connects to NATS not at all: 20 launches at once on a stack just started met the
  // connection's timeout there.
  const upload =
    projectFiles.length > 0
      ? await withNats(nats, (nc) => uploadRunFiles(nc, clusterNames(stack.cluster), projectFiles))
      : { files: {}, uploaded: 0, reused: 0, bytes: 0 };
  if (projectFiles.length > 0) emit({ type: 'files-uploaded', uploaded: upload.uploaded, reused: upload.reused, bytes: upload.bytes });
  const client = new CoordinatorClient(coordinatorUrl(stack), requireApiToken(state));
  const images = Object.fromEntries(environments.map((image) => [image.name, image.ref]));
  const secrets = submission.secrets && Object.keys(submission.secrets).length > 0 ? { secrets: submission.secrets } : {};
  const created = await client.createRun({
    spec,
    configFile,
    images,
    files: upload.files,
    ...secrets,
    ...(remoteAgentImage ? { agentImage: remoteAgentImage } : {}),
  });
  if (created.resumed) emit({ type: 'run-resumed', runId: created.runId });
  else
    emit({
      type: 'run-submitted',
      runId: created.runId,
      jobs: spec.jobs.length,
      instances: spec.instances.reduce((n, i) => n + i.number, 0),
    });
  return { state, stack, client, nats, runId: created.runId, resumed: created.resumed };
}
