import type Docker from 'dockerode';
import { ensureAgentImage, ensureBaseImage, ensureNodeImage, OciRegistry, pushImage, type OnProgress } from '@katapult/images';
import type { RunSpec } from '@katapult/core';
import { registryHost, type StackFile } from './local-stack.js';

export interface PreparedImages {
  /** Image reference (in the registry) for each environment name. */
  environments: Record<string, string>;
  agentImage: string;
}

/**
 * Builds what is missing: the Debian base image (bootstrapped when none can be pulled), the Node runtime and
 * agent images, and publishes the environments' image to the registry agents pull from. Environments get
 * images of their own with `katapult build`; until then each runs on the base image.
 */
export async function prepareImages(docker: Docker, stack: StackFile, spec: RunSpec, repoRoot: string, onProgress: OnProgress): Promise<PreparedImages> {
  const base = await ensureBaseImage(docker, { onProgress });
  const registry = new OciRegistry(registryHost(stack));
  const tag = base.id.replace(/^sha256:/, '').slice(0, 12);
  const repo = 'katapult/base';
  const published = `${registryHost(stack)}/${repo}:${tag}`;
  if (!(await registry.hasTag(repo, tag))) {
    onProgress({ step: 'push', message: `publishing the base image as ${published}` });
    await pushImage(docker, base.ref, published, onProgress);
  }
  const node = await ensureNodeImage(docker, base.ref, { onProgress });
  const agent = await ensureAgentImage(docker, { repoRoot, nodeImage: node.ref, onProgress });
  return {
    environments: Object.fromEntries(spec.environments.map((env) => [env.name, published])),
    agentImage: agent.ref,
  };
}
