import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '@katapult/core';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OciRegistry } from '@katapult/images';
import { requireDocker, startRegistry, startWheelIndex, tempDir, type WheelIndex } from '@katapult/testkit';
import { katapult } from './cli.js';

interface BuiltImage {
  name: string;
  tag: string;
  ref: string;
  built: boolean;
}

/** `katapult build` then `launch`: jobs run in their environment's image, which is built once. */
describe('environment images through the CLI', () => {
  let env: NodeJS.ProcessEnv;
  let index: WheelIndex;
  const config = 'e2e/fixtures/science/katapult.yaml';

  beforeAll(async () => {
    await requireDocker();
    index = await startWheelIndex({ name: 'kpdemo', version: '1.0.0', source: 'def hello():\n    return "hello from kpdemo"\n' });
    env = { KATAPULT_HOME: await tempDir('e2e-build'), PIP_INDEX_URL: index.url };
  });
  afterAll(async () => {
    if (env) await katapult(['down'], env);
    await index?.stop();
  });

  it('builds each environment once; a second build reuses them all', async () => {
    const first = await katapult(['build', config, '--json'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const images = JSON.parse(first.stdout) as BuiltImage[];
    expect(images.map((image) => image.name)).toEqual(['tools', 'python']);
    const second = await katapult(['build', config, '--json'], env);
    expect((JSON.parse(second.stdout) as BuiltImage[]).map((image) => [image.name, image.ref, image.built])).toEqual(
      images.map((image) => [image.name, image.ref, false]),
    );
    const text = await katapult(['build', config], env);
    // Pinned by digest, at the read-only registry agents pull from.
    expect(text.stdout).toMatch(/^tools +127\.0\.0\.1:\d+\/katapult\/env@sha256:[0-9a-f]{64} +reused$/m);
  }, 600_000);

  it('jobs run in their environment image', async () => {
    const launch = await katapult(['launch', config], env);
    expect(launch.code).toBe(0);
    const [run] = JSON.parse((await katapult(['status', '--json'], env)).stdout) as RunView[];
    expect(run!.jobs.map((job) => [job.id, job.state])).toEqual([
      ['query', 'done'],
      ['compute', 'done'],
    ]);
    expect((await katapult(['logs', 'query'], env)).stdout).toMatch(/^42\nset up on \d{4}-\d\d-\d\d\n$/);
    expect((await katapult(['logs', 'compute'], env)).stdout).toBe('hello from kpdemo\n42\n');
  }, 600_000);

  it('images ls shows them; prune removes those no given config uses', async () => {
    const listed = JSON.parse((await katapult(['images', 'ls', '--json'], env)).stdout) as {
      tag: string;
      environment: string;
      size: number;
    }[];
    expect(listed.map((image) => image.environment).sort()).toEqual(['python', 'tools']);
    for (const image of listed) expect(image.size).toBeGreaterThan(1_000_000);
    const table = await katapult(['images', 'ls'], env);
    expect(table.stdout).toMatch(/^TAG +ENVIRONMENT +SIZE +CREATED$/m);

    const keepAll = await katapult(['images', 'prune', config, '--dry-run'], env);
    expect(keepAll.stdout).toContain('would remove 0 images; the configs use 2');
    const dry = await katapult(['images', 'prune', 'examples/hello/katapult.yaml', '--dry-run', '--json'], env);
    expect((JSON.parse(dry.stdout) as { removed: unknown[] }).removed).toHaveLength(2);
    expect(JSON.parse((await katapult(['images', 'ls', '--json'], env)).stdout)).toHaveLength(2);
    const pruned = await katapult(['images', 'prune', 'examples/hello/katapult.yaml'], env);
    expect(pruned.stdout).toMatch(/^removed [0-9a-f]{24} \(tools, [\d.]+MB\)$/m);
    expect(JSON.parse((await katapult(['images', 'ls', '--json'], env)).stdout)).toEqual([]);
  }, 300_000);

  it('a config can name another registry; images are pushed there', async () => {
    const other = await startRegistry();
    try {
      const dir = await tempDir('e2e-registry');
      const file = join(dir, 'katapult.yaml');
      await writeFile(
        file,
        `registry: ${other.host}\nenvironments:\n  - command: echo ready > /opt/ready\njobs:\n  - run_command: cat /opt/ready\n`,
      );
      const built = JSON.parse((await katapult(['build', file, '--json'], env)).stdout) as BuiltImage[];
      expect(built[0]?.ref.startsWith(`${other.host}/katapult/env@sha256:`)).toBe(true);
      expect(await new OciRegistry(other.host).hasTag('katapult/env', built[0]!.tag)).toBe(true);
      const listed = JSON.parse((await katapult(['images', 'ls', '--registry', other.host, '--json'], env)).stdout) as unknown[];
      expect(listed).toHaveLength(1);
    } finally {
      await other.stop();
    }
  }, 300_000);
});
