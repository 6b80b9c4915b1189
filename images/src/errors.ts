import { type ErrorCode, KatapultError } from '@katapult/core';

export type ImageErrorCode = Extract<
  ErrorCode,
  | 'KP_DOCKER_UNREACHABLE'
  | 'KP_IMAGE_BOOTSTRAP_UNAVAILABLE'
  | 'KP_IMAGE_BOOTSTRAP_FAILED'
  | 'KP_IMAGE_BUILD_FAILED'
  | 'KP_IMAGE_PUSH_FAILED'
  | 'KP_IMAGE_LOCK_TIMEOUT'
  | 'KP_AGENT_BUNDLE_MISSING'
  | 'KP_MAESTRO_BUNDLE_MISSING'
  | 'KP_IMAGE_REF_INVALID'
  | 'KP_REGISTRY_ERROR'
>;

/** An image, registry or Docker engine problem; its exit code is the catalogue's (3, or 2 for a malformed reference). */
export class ImageError extends KatapultError {
  declare readonly code: ImageErrorCode;

  constructor(code: ImageErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options?.cause === undefined ? {} : { cause: options.cause });
    this.name = 'ImageError';
  }
}
