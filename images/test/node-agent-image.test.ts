import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireDocker, tempDir } from '@katapult/testkit';
import { pack } from 'tar-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, connectDocker, ensureAgentImage, ensureBaseImage, ensureNodeImage, type NodeImage } from '../src/index.js';
import { dockerRun, removeImage, uniqueSuffix } from './helpers.js';

const realDockerfile = fileURLToPath(new URL('../../Dockerfile.agent', import.meta.url));

describe('node and agent images', () => {
  const docker = connectDocker();
  const cleanups: Array<() => Promise<void>> = [];
  let baseRef = '';
  let node: NodeImage;

  // The shared base and node images are caches meant to outlive this suite (the first run on a
  // fresh host bootstraps and builds them); only the per-run agent images are removed.
  beforeAll(async () => {
    await requireDocker();
    baseRef = (await ensureBaseImage(docker)).ref;
    node = await ensureNodeImage(docker, baseRef);
  });
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('builds a Node.js runtime on the base image, tagged by content, and reuses it', async () => {
    expect(node.ref).toMatch(/^katapult\/node:[0-9a-f]{12}$/);
    expect(await dockerRun(node.ref, ['node', '--version'])).toMatch(/^v\d+\.\d+\.\d+/);
    const started = Date.now();
    expect(await ensureNodeImage(docker, baseRef)).toEqual(node);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('builds the agent image from Dockerfile.agent and the bundle, then skips an identical build', async () => {
    const repoRoot = await tempDir('agent-repo');
    cleanups.push(() => rm(repoRoot, { recursive: true, force: true }));
    const marker = `agent ok ${uniqueSuffix()}`;
    await copyFile(realDockerfile, join(repoRoot, 'Dockerfile.agent'));
    await mkdir(join(repoRoot, 'agent/dist'), { recursive: true });
    await writeFile(join(repoRoot, 'agent/dist/agent.mjs'), `console.log(${JSON.stringify(marker)});\n`);

    const agent = await ensureAgentImage(docker, { repoRoot, nodeImage: node.ref });
    cleanups.push(() => removeImage(docker, agent.ref));
    expect(agent.built).toBe(true);
    expect(agent.ref).toMatch(/^katapult\/agent:[0-9a-f]{12}$/);
    expect((await dockerRun(agent.ref)).trim()).toBe(marker);

    expect(await ensureAgentImage(docker, { repoRoot, nodeImage: node.ref })).toEqual({ ...agent, built: false });
  });

  it('names the missing agent bundle and how to produce it', async () => {
    const repoRoot = await tempDir('agent-empty');
    cleanups.push(() => rm(repoRoot, { recursive: true, force: true }));
    await copyFile(realDockerfile, join(repoRoot, 'Dockerfile.agent'));
    const failure = ensureAgentImage(docker, { repoRoot, nodeImage: node.ref });
    await expect(failure).rejects.toMatchObject({ code: 'KP_AGENT_BUNDLE_MISSING' });
    await expect(failure).rejects.toThrow(/agent\/dist\/agent\.mjs is missing; run "pnpm build"/);
  });

  it('reports a failing build step with the end of the build log', async () => {
    const dir = await tempDir('bad-build');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'Dockerfile'), `FROM ${baseRef}\nRUN echo about-to-fail && exit 3\n`);
    const tag = `katapult-test/bad:${uniqueSuffix()}`;
    const failure = buildImage(docker, { context: pack(dir), tag });
    await expect(failure).rejects.toMatchObject({ code: 'KP_IMAGE_BUILD_FAILED' });
    await expect(failure).rejects.toThrow(/returned a non-zero code: 3[\s\S]*about-to-fail/);
  });
});
