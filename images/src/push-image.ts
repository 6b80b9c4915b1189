import type Docker from 'dockerode';
import { ImageError } from './errors.js';
import { parseImageRef, splitRegistryHost } from './image-ref.js';
import { followJsonStream, streamError } from './json-stream.js';
import type { OnProgress } from './progress.js';
import type { RegistryAuth } from './registry.js';

function authConfig(auth: RegistryAuth | undefined, serveraddress: string): Docker.AuthConfig {
  if (auth === undefined) return { serveraddress };
  if ('token' in auth) return { serveraddress, registrytoken: auth.token };
  return { serveraddress, username: auth.username, password: auth.password };
}

/**
 * Tags `localRef` as `targetRef` (host:port/name:tag) and pushes it; returns the pushed manifest digest.
 * The engine reports push failures inside the 200 response stream, so the stream is checked for errors.
 */
export async function pushImage(
  docker: Docker,
  localRef: string,
  targetRef: string,
  onProgress?: OnProgress,
  auth?: RegistryAuth,
): Promise<string> {
  const { repo, tag } = parseImageRef(targetRef);
  const serveraddress = splitRegistryHost(repo).host;
  await docker.getImage(localRef).tag({ repo, tag });
  // Docker 20.10 rejects a push without an X-Registry-Auth header, even for an open registry.
  const stream = await docker.getImage(repo).push({ tag, authconfig: authConfig(auth, serveraddress) });
  let failure: string | undefined;
  let digest: string | undefined;
  await followJsonStream(stream, (event) => {
    failure ??= streamError(event);
    digest = event.aux?.Digest ?? digest;
    if (event.status !== undefined) {
      const id = event.id !== undefined ? `${event.id}: ` : '';
      onProgress?.({ step: 'push', message: `${id}${event.status}`, detail: true });
    }
  });
  if (failure !== undefined) {
    throw new ImageError(
      'KP_IMAGE_PUSH_FAILED',
      `pushing ${targetRef} failed: ${failure}; check that the registry is running and reachable from the Docker engine`,
    );
  }
  if (digest === undefined) {
    throw new ImageError('KP_IMAGE_PUSH_FAILED', `pushing ${targetRef} reported no digest; retry the push`);
  }
  return digest;
}
