import type Docker from 'dockerode';
import { ecrAuthSources, type AuthSourceFor, type RegistryCredentials } from './registry-auth.js';

/** A pull that failed, as one line naming the image and the cause; the job's start failure carries it as is. */
export class ImagePullError extends Error {
  constructor(
    readonly code: 'KP_PULL_AUTH' | 'KP_PULL_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'ImagePullError';
  }
}

export type PullImage = (docker: Docker, image: string) => Promise<void>;

// What registries (ECR, distribution, Docker Hub) say, through the engine, when credentials are missing, wrong or expired.
const AUTH_REFUSED = /no basic auth credentials|authorization token has expired|unauthorized|authentication required|denied|\b40[13]\b/i;

/**
 * Pulls with the credentials of the image's registry when `authFor` has a source for it (ECR by default);
 * the Docker engine API does not use the host CLI's credential helpers, so they are passed with each pull.
 * A pull refused for its credentials gets fresh ones once and is tried again.
 */
export function imagePuller(authFor: AuthSourceFor): PullImage {
  return async (docker, image) => {
    const host = registryHost(image);
    const source = host === undefined ? undefined : authFor(host);
    if (!source) {
      const failure = await attempt(docker, image, undefined);
      if (failure !== undefined) throw new ImagePullError('KP_PULL_FAILED', `pulling ${image} failed: ${failure}`);
      return;
    }
    const login = async (refresh: boolean) => {
      try {
        return await source.credentials({ refresh });
      } catch (error) {
        throw new ImagePullError('KP_PULL_AUTH', `cannot get ${source.kind} for ${image}: ${causeOf(error)}`, { cause: error });
      }
    };
    let failure = await attempt(docker, image, await login(false));
    if (failure !== undefined && AUTH_REFUSED.test(failure)) failure = await attempt(docker, image, await login(true));
    if (failure === undefined) return;
    if (AUTH_REFUSED.test(failure)) {
      throw new ImagePullError('KP_PULL_AUTH', `${host} refused the credentials for ${image}, even fresh ones: ${failure}`);
    }
    throw new ImagePullError('KP_PULL_FAILED', `pulling ${image} failed: ${failure}`);
  };
}

/** The agent's puller: ECR images with a token from the instance's role, any other registry without credentials. */
export const pullImage: PullImage = imagePuller(ecrAuthSources());

/** The registry part of an image reference as Docker reads it; undefined for Docker Hub's short names. */
export function registryHost(image: string): string | undefined {
  const slash = image.indexOf('/');
  if (slash < 0) return undefined;
  const first = image.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined;
}

/** One pull to the end; the failure the engine gave, or undefined when the image is there. */
async function attempt(docker: Docker, image: string, credentials: RegistryCredentials | undefined): Promise<string | undefined> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.pull(image, credentials ? { authconfig: credentials } : {});
  } catch (error) {
    return (error instanceof Error ? error.message : String(error)).trim();
  }
  return new Promise((resolve) => {
    docker.modem.followProgress(stream, (error: Error | null, events: { error?: string }[]) => {
      resolve((error?.message ?? events.find((event) => event.error)?.error)?.trim());
    });
  });
}

/** An SDK error as `Name: message`, e.g. `AccessDeniedException: User … is not authorized …`. */
function causeOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.name && error.name !== 'Error' && !error.message.startsWith(error.name) ? `${error.name}: ${error.message}` : error.message;
}
