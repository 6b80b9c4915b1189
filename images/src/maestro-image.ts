import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { contentTag } from './content-tag.js';
import { ImageError } from './errors.js';
import { ensureNodeAppImage, type NodeAppImage } from './node-app-image.js';
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

export type MaestroImage = NodeAppImage;

async function readBundle(repoRoot: string): Promise<Buffer> {
  try {
    return await readFile(join(repoRoot, MAESTRO_BUNDLE));
  } catch (error) {
    throw new ImageError(
      'KP_MAESTRO_BUNDLE_MISSING',
      `the maestro bundle ${join(repoRoot, MAESTRO_BUNDLE)} is missing; run "pnpm build" in ${repoRoot} first`,
      {
        cause: error,
      },
    );
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

  return ensureNodeAppImage(docker, {
    ref,
    repoRoot: opts.repoRoot,
    dockerfile: MAESTRO_DOCKERFILE,
    files: [MAESTRO_BUNDLE, ...dashboard.entries],
    nodeImage: opts.nodeImage,
    onProgress: opts.onProgress,
  });
}
