import { ExitCode, KatapultError } from '@katapult/core';

export type ImageErrorCode =
  | 'KP_DOCKER_UNREACHABLE'
  | 'KP_IMAGE_BOOTSTRAP_UNAVAILABLE'
  | 'KP_IMAGE_BOOTSTRAP_FAILED'
  | 'KP_IMAGE_BUILD_FAILED'
  | 'KP_IMAGE_PUSH_FAILED'
  | 'KP_IMAGE_LOCK_TIMEOUT'
  | 'KP_AGENT_BUNDLE_MISSING'
  | 'KP_MAESTRO_BUNDLE_MISSING'
  | 'KP_IMAGE_REF_INVALID'
  | 'KP_REGISTRY_ERROR';

/** An image, registry or Docker engine problem: infrastructure (exit 3), except a malformed image reference. */
export class ImageError extends KatapultError {
  declare readonly code: ImageErrorCode;

  constructor(code: ImageErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, {
      exitCode: code === 'KP_IMAGE_REF_INVALID' ? ExitCode.badInput : ExitCode.infrastructure,
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = 'ImageError';
  }
}
