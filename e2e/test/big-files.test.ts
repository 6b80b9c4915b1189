import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker, tempDir } from '@katapult/testkit';
import { katapult, katapultMeasured, type MeasuredCliResult } from './cli.js';

const MiB = 1 << 20;
const SIZE = 256 * MiB;

/** Writes `size` random bytes a MiB at a time: the test itself never holds the file either. */
async function writeRandomFile(path: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  for (let written = 0; written < size; written += MiB) {
    if (!out.write(randomBytes(Math.min(MiB, size - written)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function jobConfig(input: string): string {
  return [
    'project: bigfiles',
    'instances: [{ number: 1, cpus: 1 }]',
    'jobs:',
    '  - name: copy',
    `    run_command: mkdir -p out && cp data/${input} out/out.bin`,
    `    input_files: data/${input}`,
    '    output_files: out/out.bin',
    '',
  ].join('\n');
}

/**
 * A file far bigger than what a CLI process should hold goes up with `launch`, is staged into the job's work
 * folder, comes back as its output and is fetched byte for byte, while neither the uploading nor the fetching
 * CLI grows by more than half of it. Memory is compared with the same commands on a 1-byte file, so what the
 * CLI loads anyway does not count, and the bound is about sizes, not speed: it holds however busy the machine.
 */
describe('a 256 MiB file through launch and fetch', () => {
  let env: NodeJS.ProcessEnv;
  let project: string;
  let out: string;

  beforeAll(async () => {
    await requireDocker();
    env = { KATAPULT_HOME: await tempDir('e2e-bigfiles') };
    project = await tempDir('e2e-bigfiles-project');
    out = await tempDir('e2e-bigfiles-out');
    await mkdir(join(project, 'data'));
    await writeFile(join(project, 'data', 'tiny.bin'), 'x');
    await writeRandomFile(join(project, 'data', 'big.bin'), SIZE);
    await writeFile(join(project, 'tiny.yaml'), jobConfig('tiny.bin'));
    await writeFile(join(project, 'big.yaml'), jobConfig('big.bin'));
  }, 120_000);
  afterAll(async () => {
    if (env) await katapult(['down'], env);
    // The home holds the stack's JetStream store and the agent's cache: the big file twice over, 600 MB a run.
    for (const dir of [project, out, env?.['KATAPULT_HOME']]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  const succeeded = (result: MeasuredCliResult, what: string) => {
    expect(result.stderr, what).toBe('');
    expect(result.code, what).toBe(0);
    return result;
  };
  const runIdOf = (launch: MeasuredCliResult) => /run (r-[0-9a-z-]+) submitted/.exec(launch.stdout)![1]!;

  it('goes up, is staged, comes back as the output and is fetched byte for byte, in bounded memory', async () => {
    // The first launch starts the stack and builds the images; the second is what a launch takes with a tiny file.
    succeeded(await katapultMeasured(['launch', join(project, 'tiny.yaml')], env), 'warm-up launch');
    const tinyLaunch = succeeded(await katapultMeasured(['launch', join(project, 'tiny.yaml')], env), 'launch of 1 byte');
    const tinyFetch = succeeded(await katapultMeasured(['fetch', runIdOf(tinyLaunch), '--out', out], env), 'fetch of 1 byte');

    const bigLaunch = succeeded(await katapultMeasured(['launch', join(project, 'big.yaml')], env), 'launch of 256 MiB');
    expect(bigLaunch.stdout).toMatch(/files: 1 uploaded \(268\.\dMB\)/);
    const runId = runIdOf(bigLaunch);
    const bigFetch = succeeded(await katapultMeasured(['fetch', runId, '--out', out], env), 'fetch of 256 MiB');
    expect(await sha256(join(out, runId, 'copy', 'out', 'out.bin'))).toBe(await sha256(join(project, 'data', 'big.bin')));

    expect(bigLaunch.peakRssBytes - tinyLaunch.peakRssBytes).toBeLessThan(SIZE / 2);
    expect(bigFetch.peakRssBytes - tinyFetch.peakRssBytes).toBeLessThan(SIZE / 2);
  }, 900_000);
});
