import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '@katapult/core';
import { requireDocker, tempDir } from '@katapult/testkit';
import { katapult, type CliResult } from './cli.js';

/**
 * The original's file fields end to end: a script with arguments, uploads shared by the jobs, per-job inputs,
 * `repeat`, and output files fetched back byte for byte into OUT/<run>/<job>/, written by the environment
 * image's unprivileged job user (uid 1000).
 */
describe('job files on the local default', () => {
  let env: NodeJS.ProcessEnv;
  let project: string;
  let input: Buffer;
  const common = 'common to every job\n';

  beforeAll(async () => {
    await requireDocker();
    env = { KATAPULT_HOME: await tempDir('e2e-files') };
    project = await tempDir('e2e-files-project');
    input = randomBytes(300_000);
    await mkdir(join(project, 'data'));
    await mkdir(join(project, 'lib'));
    await writeFile(join(project, 'data', 'input.dat'), input);
    await writeFile(join(project, 'lib', 'common.txt'), common);
    await writeFile(
      join(project, 'sim.sh'),
      '#!/bin/sh\nset -e\nmkdir -p out\ncat data/input.dat lib/common.txt > out/result.dat\necho "scale=$1 seed=$2 uid=$(id -u)" >> out/result.dat\necho simulated\n',
    );
    await chmod(join(project, 'sim.sh'), 0o644); // run_script makes it executable in the job, whatever its mode here
    await writeFile(
      join(project, 'katapult.yaml'),
      [
        'project: files',
        'instances: [{ number: 2, cpus: 2 }]',
        'jobs:',
        '  - name: sim',
        '    run_script: sim.sh 7 "42"',
        '    upload_files: lib/common.txt',
        '    input_files: [data/input.dat]',
        '    output_files: [out/result.dat, never-written.dat]',
        '    repeat: 3',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it('refuses a missing input before starting anything, naming the job and the field', async () => {
    const broken = join(project, 'broken.yaml');
    await writeFile(broken, 'jobs:\n  - name: lonely\n    run_command: cat data/nothing.dat\n    input_files: data/nothing.dat\n');
    const result = await katapult(['launch', broken], env);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`KP_FILE_MISSING ${broken}:4:5 jobs[0].input_files: "data/nothing.dat" does not exist in ${project}`);
    expect(existsSync(join(env.KATAPULT_HOME!, 'stack.json'))).toBe(false);
    const validate = await katapult(['validate', broken], env);
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain('KP_FILE_MISSING');
  });

  let launch: CliResult;
  it('runs each copy with the files staged, uploading each file once', async () => {
    launch = await katapult(['launch', join(project, 'katapult.yaml')], env);
    expect(launch.stderr).toBe('');
    expect(launch.code).toBe(0);
    expect(launch.stdout).toMatch(/files: 3 uploaded \(300\.\dkB\), 0 already stored/);
    const [run] = JSON.parse((await katapult(['status', '--json'], env)).stdout) as RunView[];
    expect(run!.jobs.map((job) => [job.id, job.state, job.outputs?.missing])).toEqual([
      ['sim-1', 'done', ['never-written.dat']],
      ['sim-2', 'done', ['never-written.dat']],
      ['sim-3', 'done', ['never-written.dat']],
    ]);
    expect((await katapult(['logs', 'sim-2'], env)).stdout).toBe('simulated\n');
  }, 600_000);

  it('fetch writes every output into OUT/<run>/<job>/ byte for byte and names what a job did not write', async () => {
    const out = await tempDir('e2e-files-out');
    const fetch = await katapult(['fetch', '--out', out], env);
    expect(fetch.code).toBe(0);
    const runId = /run (r-[0-9a-z-]+) submitted/.exec(launch.stdout)![1]!;
    expect(fetch.stdout).toContain(`sim-1: 1 file -> ${join(out, runId, 'sim-1')}`);
    expect(fetch.stderr).toContain('sim-3 (done) did not write never-written.dat');
    expect((await readdir(join(out, runId))).sort()).toEqual(['sim-1', 'sim-2', 'sim-3']);
    const expected = Buffer.concat([input, Buffer.from(common), Buffer.from('scale=7 seed=42 uid=1000\n')]);
    for (const job of ['sim-1', 'sim-2', 'sim-3']) {
      expect((await readFile(join(out, runId, job, 'out', 'result.dat'))).equals(expected)).toBe(true);
    }
  }, 120_000);

  it('a second launch of the same files sends none of them again', async () => {
    const again = await katapult(['launch', join(project, 'katapult.yaml'), '--detach'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/files: 0 uploaded \(0B\), 3 already stored/);
  }, 600_000);
});
