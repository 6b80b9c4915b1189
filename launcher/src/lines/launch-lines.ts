import { plural } from '@katapult/core/light';
import type { LaunchEvent } from '../launch/launch-events.js';
import { formatBytes } from './bytes.js';
import { stackStepLine } from './stack-lines.js';

// Docker repeats per-layer transfer states many times a second; the step lines are what a user follows.
const LAYER_CHATTER = /^[0-9a-f]{12}: (Preparing|Waiting|Pushing|Pushed|Layer already exists)$/;

/**
 * A launch event as the one plain line both front-ends print where no live display shows image steps (the
 * CLI's `run`, a pipe, @katapult/client's onProgress); undefined for image chatter no one follows.
 */
export function launchEventLine(event: LaunchEvent): string | undefined {
  switch (event.type) {
    case 'step':
      return stackStepLine(event.step);
    case 'image':
      return LAYER_CHATTER.test(event.progress.message) ? undefined : `${event.progress.step}: ${event.progress.message}`;
    case 'files-uploaded':
      return `files: ${event.uploaded} uploaded (${formatBytes(event.bytes)}), ${event.reused} already stored`;
    case 'run-resumed':
      return `run ${event.runId} is already going for this config (recover: true); following it instead of starting it again`;
    case 'run-submitted':
      return event.maestro === undefined
        ? `run ${event.runId} submitted: ${plural(event.jobs, 'job')} on ${plural(event.instances, 'instance')}`
        : `run ${event.runId} submitted to the maestro at ${event.maestro}: ${plural(event.jobs, 'job')}`;
  }
}
