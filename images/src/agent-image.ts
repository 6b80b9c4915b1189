import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { pack } from 'tar-fs';
import { buildImage } from './build-image.js';
import { contentTag } from './content-tag.js';
import { ImageError } from './errors.js';
import { withFileLock } from './file-lock.js';
import { localImageId } from './local-image.js';
import type { OnProgress } from './progress.js';

export const AGENT_DOCKERFILE = 'Dockerfile.agent';
export const AGENT_BUNDLE = 'agent/dist/agent.mjs';

export interface EnsureAgentImageOptions {
  /** Repository root holding Dockerfile.agent and agent/dist/agent.mjs. */
  repoRoot: string;
  /** The Node.js runtime image (from ensureNodeImage) the agent runs on. */
  nodeImage: string;
  /** Repository of the resulting tag. Default "katapult/agent". */
  repo?: string;
  onProgress?: OnProgress;
}

export interface AgentImage {
  ref: string;
  id: string;
  /** False when an image with the same inputs already existed. */
  built: boolean;
}

async function readInput(repoRoot: string, file: string): Promise<Buffer> {
  try {
    return await readFile(join(repoRoot, file));
  } catch (error) {
    if (file === AGENT_BUNDLE) {
      throw new ImageError(
        'KP_AGENT_BUNDLE_MISSING',
        `the agent bundle ${join(repoRoot, file)} is missing; run "pnpm build" in ${repoRoot} first`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Builds the agent image from Dockerfile.agent and the agent bundle, unless identical inputs were built before. */
export async function ensureAgentImage(docker: Docker, opts: EnsureAgentImageOptions): Promise<AgentImage> {
  const bundle = await readInput(opts.repoRoot, AGENT_BUNDLE);
  const dockerfile = await readInput(opts.repoRoot, AGENT_DOCKERFILE);
  const nodeId = (await docker.getImage(opts.nodeImage).inspect()).Id;
  const ref = `${opts.repo ?? 'katapult/agent'}:${contentTag([dockerfile, bundle, nodeId])}`;

  const existing = await localImageId(docker, ref);
  if (existing !== undefined) return { ref, id: existing, built: false };

  return withFileLock(`agent-image ${ref}`, async () => {
    const built = await localImageId(docker, ref);
    if (built !== undefined) return { ref, id: built, built: false };
    opts.onProgress?.({ step: 'build', message: `building ${ref} on ${opts.nodeImage}` });
    // Only these two files go to the engine, however large the repository is.
    const context = pack(opts.repoRoot, { entries: [AGENT_DOCKERFILE, AGENT_BUNDLE] });
    const id = await buildImage(docker, {
      context,
      tag: ref,
      dockerfile: AGENT_DOCKERFILE,
      buildargs: { NODE_IMAGE: opts.nodeImage },
      onProgress: opts.onProgress,
    });
    return { ref, id, built: true };
  });
}
