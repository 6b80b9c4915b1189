export type ImageErrorCode =
  | 'KP_DOCKER_UNREACHABLE'
  | 'KP_IMAGE_BOOTSTRAP_UNAVAILABLE'
  | 'KP_IMAGE_BOOTSTRAP_FAILED'
  | 'KP_IMAGE_BUILD_FAILED'
  | 'KP_IMAGE_PUSH_FAILED'
  | 'KP_IMAGE_LOCK_TIMEOUT'
  | 'KP_AGENT_BUNDLE_MISSING'
  | 'KP_IMAGE_REF_INVALID'
  | 'KP_REGISTRY_ERROR';

/** Local stand-in for core's KatapultError: a stable `code` plus a one-line message saying what to do. */
export class ImageError extends Error {
  readonly code: ImageErrorCode;

  constructor(code: ImageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageError';
    this.code = code;
  }
}
