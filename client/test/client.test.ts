import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker, tempDir } from '@katapult/testkit';
// The built package, as a script imports it (vitest.config.ts leaves it to Node, untransformed).
import { Katapult, KatapultError, type RunHandle } from '../dist/index.js';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE = join(REPO_ROOT, 'examples', 'client', 'run.mjs');

describe('@katapult/client on the local default, with a private home', () => {
  let home: string;
  let project: string;
  let kp: Katapult;
  let run: RunHandle;
  const progress: string[] = [];

  beforeAll(async () => {
    await requireDocker();
    home = await tempDir('client-home');
    project = await tempDir('client-project');
    await writeFile(
      join(project, 'katapult.yaml'),
      [
        'project: client',
        'instances: [{ number: 1, cpus: 2 }]',
        'jobs:',
        '  - name: answer',
        '    run_command: mkdir -p out && echo 42 > out/answer.txt && echo wrote the answer',
        '    output_files: [out/answer.txt]',
        '  - name: broken',
        '    run_command: echo about to fail; exit 4',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(project, 'slow.yaml'),
      ['project: slow', 'instances: [{ number: 1, cpus: 1 }]', 'jobs:', '  - name: nap', '    run_command: sleep 120', ''].join('\n'),
    );
    kp = await Katapult.open(join(project, 'katapult.yaml'), { home, onProgress: (line) => progress.push(line) });
  });

  afterAll(async () => {
    if (kp) await kp.down();
  });

  it('open refuses a config that does not exist with the CLI error code', async () => {
    const error = await Katapult.open(join(project, 'nowhere.yaml'), { home }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KatapultError);
    expect((error as KatapultError).toLine()).toBe(`KP_CONFIG_NOT_FOUND ${join(project, 'nowhere.yaml')}: no such file`);
    expect((error as KatapultError).exitCode).toBe(2);
  });

  it('build makes one image per environment and pushes it to the stack registry', async () => {
    const images = await kp.build();
    expect(images.map((image) => image.name)).toEqual(['default']);
    // Pinned by digest at the stack's read-only registry; the content tag is kept beside it.
    expect(images[0]!.ref).toMatch(/^127\.0\.0\.1:\d+\/katapult\/env@sha256:[0-9a-f]{64}$/);
    expect(images[0]!.tagRef).toMatch(/^127\.0\.0\.1:\d+\/katapult\/env:[0-9a-f]{24}$/);
    expect(progress).toContain('starting nats-server (JetStream)');
  }, 600_000);

  it('run, then wait: the states are those of the jobs, and the handle knows its run', async () => {
    run = await kp.run();
    expect(run.id).toMatch(/^r-\d{8}-\d{6}-[0-9a-z]{4}$/);
    expect(progress).toContain(`run ${run.id} submitted: 2 jobs on 1 instance`);
    const final = await run.wait();
    expect(final.state).toBe('failed');
    expect(await run.states()).toEqual({ answer: 'done', broken: 'failed' });
    expect(final.jobs.map((job) => [job.id, job.exitCode])).toEqual([
      ['answer', 0],
      ['broken', 4],
    ]);
    expect((await kp.status()).id).toBe(run.id);
    expect((await kp.attach()).id).toBe(run.id);
  }, 600_000);

  it('wait until done rejects with KP_JOB_FAILED, naming the job that failed', async () => {
    const error = await run.wait({ until: 'done' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KatapultError);
    expect((error as KatapultError).toLine()).toBe(
      `KP_JOB_FAILED broken failed with exit code 4, so run ${run.id} cannot end with every job done (katapult logs broken --run ${run.id})`,
    );
  });

  it("logs gives each job's lines, and an unknown job is KP_JOB_NOT_FOUND", async () => {
    expect((await run.logs('answer')).map(({ job, stream, line }) => ({ job, stream, line }))).toEqual([
      { job: 'answer', stream: 'stdout', line: 'wrote the answer' },
    ]);
    expect((await run.logs()).map((entry) => entry.line).sort()).toEqual(['about to fail', 'wrote the answer']);
    await expect(run.logs('nope')).rejects.toThrowError(`run ${run.id} has no job named "nope"`);
  });

  it('fetch writes the output files into OUT/<run>/<job>/', async () => {
    const out = await tempDir('client-out');
    const fetched = await run.fetch(out);
    expect(fetched).toEqual([
      { job: 'answer', state: 'done', folder: join(out, run.id, 'answer'), files: ['out/answer.txt'], missing: [] },
    ]);
    expect(await readFile(join(out, run.id, 'answer', 'out', 'answer.txt'), 'utf8')).toBe('42\n');
  });

  it('a wait that times out leaves the run going; cancel then aborts it', async () => {
    const slow = await Katapult.open(join(project, 'slow.yaml'), { home });
    const napping = await slow.run();
    await napping.wait({ until: 'started', timeoutMs: 120_000 });
    const error = await napping.wait({ timeoutMs: 500 }).catch((caught: unknown) => caught);
    expect((error as KatapultError).code).toBe('KP_WAIT_TIMEOUT');
    expect((error as KatapultError).message).toBe(`run ${napping.id} was not over within 500 ms`);
    expect(await napping.states()).toEqual({ nap: 'running' });
    expect(await napping.cancel()).toEqual({ runId: napping.id, cancelled: ['nap'], alreadyOver: [] });
    expect((await napping.wait({ timeoutMs: 60_000 })).state).toBe('aborted');
    expect(await napping.states()).toEqual({ nap: 'aborted' });
  }, 300_000);

  it('the example script runs a config, prints the states and fetches the outputs', async () => {
    const out = await tempDir('client-example-out');
    const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [EXAMPLE, join(project, 'katapult.yaml'), out],
        { env: { ...process.env, KATAPULT_HOME: home }, timeout: 300_000 },
        (error, stdout) => resolve({ code: error ? Number(error.code) : 0, stdout }),
      );
    });
    expect(result.code).toBe(1);
    const runId = /^run (r-\S+)$/m.exec(result.stdout)?.[1];
    expect(
      result.stdout
        .replaceAll(runId ?? '?', '<run>')
        .replace(/env@sha256:[0-9a-f]{64}/, 'env@<digest>')
        .replace(/127\.0\.0\.1:\d+/, '<registry>'),
    ).toBe(
      [
        'image default: <registry>/katapult/env@<digest> (reused)',
        'run <run>',
        'answer: done',
        'broken: failed',
        `answer: 1 file -> ${join(out, '<run>', 'answer')}`,
        'broken ended failed; its last line: about to fail',
        '',
      ].join('\n'),
    );
  }, 300_000);

  it('down stops the stack; status then says no stack is running', async () => {
    const report = await kp.down();
    expect(report.processes).toEqual(['coordinator', 'registry', 'registry-pull', 'nats-server']);
    expect(report.containers.length).toBeGreaterThan(0);
    await expect(kp.status()).rejects.toThrowError(expect.objectContaining({ code: 'KP_STACK_NOT_RUNNING' }));
  });
});
