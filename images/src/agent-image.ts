import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { contentTag } from './content-tag.js';
import { ImageError } from './errors.js';
import { ensureNodeAppImage, type NodeAppImage } from './node-app-image.js';
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

export type AgentImage = NodeAppImage;

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

  return ensureNodeAppImage(docker, {
    ref,
    repoRoot: opts.repoRoot,
    dockerfile: AGENT_DOCKERFILE,
    files: [AGENT_BUNDLE],
    nodeImage: opts.nodeImage,
    onProgress: opts.onProgress,
  });
}
