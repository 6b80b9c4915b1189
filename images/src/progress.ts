/** A step of a long image operation, for the caller to render (this package renders nothing). */
export interface ProgressEvent {
  /** e.g. 'lookup', 'pull', 'debootstrap', 'import', 'build', 'push' */
  step: string;
  message: string;
}

export type OnProgress = (event: ProgressEvent) => void;
