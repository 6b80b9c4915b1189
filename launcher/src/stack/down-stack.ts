import { connectDocker } from '@katapult/images';
import type { StateFolder } from '../state/state-folder.js';
import type { OnDownEvent } from './down-events.js';
import { removeStackImageTags, stopStack, type DownReport } from './local-stack.js';

/**
 * The local half of `katapult down`: the stack stopped (the coordinator first, so it cannot replace the
 * instances being terminated), with `images` its registry's local image tags removed; with `dryRun` nothing.
 */
export async function downLocalStack(
  state: StateFolder,
  options: { dryRun: boolean; images: boolean; emit: OnDownEvent },
): Promise<DownReport> {
  const { emit } = options;
  if (options.dryRun) {
    emit({ type: 'would-stop-stack' });
    return { containers: [], processes: [] };
  }
  const docker = connectDocker();
  const report = await stopStack(state, docker);
  for (const name of report.containers) emit({ type: 'container-removed', name });
  for (const name of report.processes) emit({ type: 'process-stopped', name });
  if (report.containers.length === 0 && report.processes.length === 0) emit({ type: 'nothing-running' });
  if (options.images) {
    report.images = await removeStackImageTags(state, docker);
    for (const tag of report.images) emit({ type: 'image-tag-removed', tag });
    if (report.images.length === 0) emit({ type: 'no-image-tag' });
  }
  return report;
}
