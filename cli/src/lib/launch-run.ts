import type { RunSpec } from '@katapult/core/light';
import type { OnProgress } from '@katapult/images';
import { exposureFor, openBuildContext, openStack } from './open-stack.js';
import type { BuildContext } from './prepare-images.js';
import { submitRun, type Submission, type SubmittedRun } from './submit-run.js';

/** What a launch opens: the local stack (reachable by EC2 agents when the run is on AWS), or for a remote maestro only Docker. */
export function openLaunchContext(spec: RunSpec, step: (line: string) => void, dir?: string, progress?: OnProgress): Promise<BuildContext> {
  return spec.maestro === 'remote' ? openBuildContext(step, dir, progress) : openStack(step, dir, exposureFor(spec), progress);
}

/** Submits to the local coordinator, or to the remote maestro (loading the AWS SDK only then). */
export async function submitLaunch(context: BuildContext, submission: Submission, step: (line: string) => void): Promise<SubmittedRun> {
  if (submission.spec.maestro !== 'remote') return submitRun(context, submission, step);
  return (await import('./remote-launch.js')).submitRemoteRun(context, submission, step);
}
