import type Docker from 'dockerode';

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return undefined;
  return typeof error.statusCode === 'number' ? error.statusCode : undefined;
}

/** The local image id for `ref`, or undefined when the engine has no such image. */
export async function localImageId(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    const info = await docker.getImage(ref).inspect();
    return info.Id;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}
