import type Docker from 'dockerode';
import { pack } from 'tar-fs';
import { buildImage } from './build-image.js';
import { withFileLock } from './file-lock.js';
import { localImageId } from './local-image.js';
import type { OnProgress } from './progress.js';

export interface NodeAppImage {
  ref: string;
  id: string;
  /** False when an image with the same inputs already existed. */
  built: boolean;
}

/**
 * One of Katapult's own images (the agent, the maestro): a Dockerfile on the Node image given as NODE_IMAGE, built
 * from only the repository files named, under a content tag the caller computed. Skipped when the tag exists; a
 * file lock keeps two processes from building it at once.
 */
export async function ensureNodeAppImage(
  docker: Docker,
  opts: { ref: string; repoRoot: string; dockerfile: string; files: string[]; nodeImage: string; onProgress?: OnProgress | undefined },
): Promise<NodeAppImage> {
  const existing = await localImageId(docker, opts.ref);
  if (existing !== undefined) return { ref: opts.ref, id: existing, built: false };

  return withFileLock(`image ${opts.ref}`, async () => {
    const built = await localImageId(docker, opts.ref);
    if (built !== undefined) return { ref: opts.ref, id: built, built: false };
    opts.onProgress?.({ step: 'build', message: `building ${opts.ref} on ${opts.nodeImage}` });
    // Only these files go to the engine, however large the repository is.
    const context = pack(opts.repoRoot, { entries: [opts.dockerfile, ...opts.files] });
    const id = await buildImage(docker, {
      context,
      tag: opts.ref,
      dockerfile: opts.dockerfile,
      buildargs: { NODE_IMAGE: opts.nodeImage },
      onProgress: opts.onProgress,
    });
    return { ref: opts.ref, id, built: true };
  });
}
