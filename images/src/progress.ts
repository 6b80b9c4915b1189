/** A step of a long image operation, for the caller to render (this package renders nothing). */
export interface ProgressEvent {
  /** e.g. 'lookup', 'pull', 'debootstrap', 'import', 'build', 'push' */
  step: string;
  message: string;
  /**
   * A line of a tool's own output (debootstrap, docker build): the full story, for the build log and --verbose.
   * Without it the event is a milestone, one line a user follows.
   */
  detail?: boolean;
  /** Bytes moved so far in this step, when known (an import, a pull). */
  bytes?: number;
}

export type OnProgress = (event: ProgressEvent) => void;
