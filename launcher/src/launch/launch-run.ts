import type { RunSpec } from '@katapult/core/light';
import { exposureFor, openBuildContext, openStack } from '../stack/open-stack.js';
import type { BuildContext } from './prepare-images.js';
import type { StateFolder } from '../state/state-folder.js';
import type { OnLaunchEvent } from './launch-events.js';
import { submitRun, type Submission, type SubmittedRun } from './submit-run.js';

/** What a launch opens: the local stack (reachable by EC2 agents when the run is on AWS), or for a remote maestro only Docker. */
export function openLaunchContext(spec: RunSpec, emit: OnLaunchEvent, state?: StateFolder): Promise<BuildContext> {
  return spec.maestro === 'remote' ? openBuildContext(emit, state) : openStack(emit, state, exposureFor(spec));
}

/** Submits to the local coordinator, or to the remote maestro (loading the AWS SDK only then). */
export async function submitLaunch(context: BuildContext, submission: Submission, emit: OnLaunchEvent): Promise<SubmittedRun> {
  if (submission.spec.maestro !== 'remote') return submitRun(context, submission, emit);
  return (await import('../aws/remote-launch.js')).submitRemoteRun(context, submission, emit);
}
