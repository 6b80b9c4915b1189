import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { pack } from 'tar-fs';
import { buildImage } from './build-image.js';
import { contentTag } from './content-tag.js';
import { ImageError } from './errors.js';
import { withFileLock } from './file-lock.js';
import { localImageId } from './local-image.js';
import type { OnProgress } from './progress.js';

export const MAESTRO_DOCKERFILE = 'Dockerfile.maestro';
export const MAESTRO_BUNDLE = 'coordinator/dist/maestro.mjs';
export const MAESTRO_DASHBOARD = 'coordinator/src/http/dashboard';

export interface EnsureMaestroImageOptions {
  /** Repository root holding Dockerfile.maestro, the maestro bundle and the dashboard's files. */
  repoRoot: string;
  /** The Node.js runtime image (from ensureNodeImage) the maestro runs on. */
  nodeImage: string;
  /** Repository of the resulting tag. Default "katapult/maestro". */
  repo?: string;
  onProgress?: OnProgress;
}

export interface MaestroImage {
  ref: string;
  id: string;
  /** False when an image with the same inputs already existed. */
  built: boolean;
}

async function readBundle(repoRoot: string): Promise<Buffer> {
  try {
    return await readFile(join(repoRoot, MAESTRO_BUNDLE));
  } catch (error) {
    throw new ImageError('KP_MAESTRO_BUNDLE_MISSING', `the maestro bundle ${join(repoRoot, MAESTRO_BUNDLE)} is missing; run "pnpm build" in ${repoRoot} first`, {
      cause: error,
    });
  }
}

/** The dashboard's files, in name order: their names and contents are part of the tag. */
async function dashboardFiles(repoRoot: string): Promise<{ entries: string[]; parts: Buffer[] }> {
  const names = (await readdir(join(repoRoot, MAESTRO_DASHBOARD), { withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort();
  const entries = names.map((name) => `${MAESTRO_DASHBOARD}/${name}`);
  const parts: Buffer[] = [];
  for (const entry of entries) parts.push(Buffer.from(`${entry}\0`), await readFile(join(repoRoot, entry)));
  return { entries, parts };
}

/**
 * Builds the maestro image (nats-server and the coordinator bundle on the Node image), tagged by a hash of the
 * Dockerfile, the bundle, the dashboard's files and the Node image id; skipped when that tag exists.
 */
export async function ensureMaestroImage(docker: Docker, opts: EnsureMaestroImageOptions): Promise<MaestroImage> {
  const bundle = await readBundle(opts.repoRoot);
  const dockerfile = await readFile(join(opts.repoRoot, MAESTRO_DOCKERFILE));
  const dashboard = await dashboardFiles(opts.repoRoot);
  const nodeId = (await docker.getImage(opts.nodeImage).inspect()).Id;
  const ref = `${opts.repo ?? 'katapult/maestro'}:${contentTag([dockerfile, bundle, ...dashboard.parts, nodeId])}`;

  const existing = await localImageId(docker, ref);
  if (existing !== undefined) return { ref, id: existing, built: false };

  return withFileLock(`maestro-image ${ref}`, async () => {
    const built = await localImageId(docker, ref);
    if (built !== undefined) return { ref, id: built, built: false };
    opts.onProgress?.({ step: 'build', message: `building ${ref} on ${opts.nodeImage}` });
    // Only these files go to the engine, however large the repository is.
    const context = pack(opts.repoRoot, { entries: [MAESTRO_DOCKERFILE, MAESTRO_BUNDLE, ...dashboard.entries] });
    const id = await buildImage(docker, {
      context,
      tag: ref,
      dockerfile: MAESTRO_DOCKERFILE,
      buildargs: { NODE_IMAGE: opts.nodeImage },
      onProgress: opts.onProgress,
    });
    return { ref, id, built: true };
  });
}
