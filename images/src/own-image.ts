import type Docker from 'dockerode';
import { ExitCode, KatapultError } from '@katapult/core';
import { followJsonStream, streamError } from './json-stream.js';
import type { OnProgress } from './progress.js';

/**
 * An environment's own `image`, pulled afresh (a tag may have moved since the last build) so that its layers
 * are built on what the registry serves now; its id, the digest of its configuration, goes into the
 * environment's content tag as the base image's does, so the same tag on a new image gives a new environment.
 */
export async function pullOwnImage(
  docker: Docker,
  envName: string,
  ref: string,
  onProgress?: OnProgress,
): Promise<{ ref: string; id: string }> {
  onProgress?.({ step: 'pull', message: `pulling ${ref}` });
  try {
    const stream = await docker.pull(ref);
    const failure = (await followJsonStream(stream)).map(streamError).find((message) => message !== undefined);
    if (failure !== undefined) throw new Error(failure);
    return { ref, id: (await docker.getImage(ref).inspect()).Id };
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '');
    throw new KatapultError('KP_IMAGE_PULL_FAILED', `environment "${envName}" image: ${ref} cannot be pulled: ${reason}`, {
      hint: 'name an image a registry this machine reaches serves without a login (host:port/name:tag)',
      exitCode: ExitCode.badInput,
    });
  }
}
