import type { ProgressEvent } from '@katapult/images';
import type { StackStep } from '../stack/stack-steps.js';

/**
 * What a launch (and `build`) reports as it goes, for a front-end to show: the CLI renders it on a terminal or
 * as lines (cli/src/render), @katapult/client hands its lines to a script's onProgress.
 */
export type LaunchEvent =
  /** A server starting, the coordinator restarted, the maestro booting: a line of its own. */
  | { type: 'step'; step: StackStep }
  /** A step of building, pulling or pushing an image (milestones and, with `detail`, the tools' own output). */
  | { type: 'image'; progress: ProgressEvent }
  /** The run's project files put in the object store; those stored before are not sent again. */
  | { type: 'files-uploaded'; uploaded: number; reused: number; bytes: number }
  /** The run was created: on the local coordinator, or on the remote maestro at `maestro` (its public IP). */
  | { type: 'run-submitted'; runId: string; jobs: number; instances: number; maestro?: string }
  /** The same submission was already going (`recover: true`): that run is followed instead. */
  | { type: 'run-resumed'; runId: string };

export type OnLaunchEvent = (event: LaunchEvent) => void;
