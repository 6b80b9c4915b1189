import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { pack } from 'tar-fs';
import { buildImage } from './build-image.js';
import { contentTag } from './content-tag.js';
import { withFileLock } from './file-lock.js';
import { localImageId } from './local-image.js';
import type { OnProgress } from './progress.js';

export interface EnsureNodeImageOptions {
  /** Repository of the resulting tag. Default "katapult/node". */
  repo?: string;
  onProgress?: OnProgress;
}

export interface NodeImage {
  ref: string;
  id: string;
}

export function nodeDockerfile(baseRef: string): string {
  return [
    `FROM ${baseRef}`,
    'RUN apt-get update && apt-get install -y --no-install-recommends nodejs ca-certificates && rm -rf /var/lib/apt/lists/*',
    '',
  ].join('\n');
}

/**
 * A Node.js runtime image on top of `baseRef`, tagged by a hash of its Dockerfile and the
 * base image id, so it is rebuilt exactly when either changes.
 */
export async function ensureNodeImage(docker: Docker, baseRef: string, opts: EnsureNodeImageOptions = {}): Promise<NodeImage> {
  const dockerfile = nodeDockerfile(baseRef);
  const baseId = (await docker.getImage(baseRef).inspect()).Id;
  const ref = `${opts.repo ?? 'katapult/node'}:${contentTag([dockerfile, baseId])}`;

  const existing = await localImageId(docker, ref);
  if (existing !== undefined) return { ref, id: existing };

  return withFileLock(`node-image ${ref}`, async () => {
    const built = await localImageId(docker, ref);
    if (built !== undefined) return { ref, id: built };
    const dir = await mkdtemp(join(tmpdir(), 'katapult-node-context-'));
    try {
      await writeFile(join(dir, 'Dockerfile'), dockerfile);
      opts.onProgress?.({ step: 'build', message: `building ${ref} from ${baseRef}` });
      const id = await buildImage(docker, { context: pack(dir), tag: ref, onProgress: opts.onProgress });
      return { ref, id };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
