import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@katapult/core';
import { checkConfigFile } from '../../src/project/config-file.js';

describe('checkConfigFile', () => {
  let dir: string;
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reports every file problem with the schema errors, each at the line and column of its key', async () => {
    dir = await mkdtemp(join(tmpdir(), 'kp-check-'));
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'here.txt'), 'x');
    await symlink('/etc/hostname', join(dir, 'out.txt'));
    const file = join(dir, 'k.yaml');
    await writeFile(
      file,
      [
        'project: v',
        'instances: [{number: 1, cpus: 1}]',
        'jobs:',
        '  - name: a',
        '    run_script: missing.py --x 1',
        '    upload_files: [data, out.txt, ../up.txt, here.txt]',
        '    input_files: gone.csv',
        '    bogus_key: 1',
        '  - name: b',
        '    run_script: missing.py',
        '',
      ].join('\n'),
    );
    const error = await checkConfigFile(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    expect((error as ConfigError).toLine().replaceAll(dir, '<dir>')).toBe(
      [
        'KP_FILE_MISSING <dir>/k.yaml:5:5 jobs[0].run_script: "missing.py" does not exist in <dir>',
        'KP_FILE_NOT_A_FILE <dir>/k.yaml:6:20 jobs[0].upload_files[0]: "data" is a folder, not a file; list the files it holds',
        'KP_FILE_OUTSIDE_PROJECT <dir>/k.yaml:6:26 jobs[0].upload_files[1]: "out.txt" links outside the project folder',
        'KP_FILE_OUTSIDE_PROJECT <dir>/k.yaml:6:35 jobs[0].upload_files[2]: "../up.txt" escapes the project folder',
        'KP_FILE_MISSING <dir>/k.yaml:7:5 jobs[0].input_files: "gone.csv" does not exist in <dir>',
        'KP_CONFIG_INVALID <dir>/k.yaml:8:5 jobs[0].bogus_key: unknown key',
      ].join('\n'),
    );
  });

  it("reports an environment's missing requirements file and setup script at their keys", async () => {
    dir = await mkdtemp(join(tmpdir(), 'kp-check-'));
    const file = join(dir, 'k.yaml');
    await writeFile(
      file,
      [
        'environments:',
        '  - name: py',
        '    env_pypi: [numpy, reqs/requirements.txt]',
        '    env_conda: environment.yml',
        '    command: setup.sh',
        '  - name: inline',
        '    command: echo not a file.sh',
        'jobs:',
        '  - env_name: py',
        '    run_command: "true"',
        '',
      ].join('\n'),
    );
    const error = (await checkConfigFile(file).catch((caught: unknown) => caught)) as ConfigError;
    expect(error.toLine().replaceAll(dir, '<dir>')).toBe(
      [
        'KP_FILE_MISSING <dir>/k.yaml:3:23 environments[0].env_pypi[1]: "reqs/requirements.txt" does not exist in <dir>',
        'KP_FILE_MISSING <dir>/k.yaml:4:5 environments[0].env_conda: "environment.yml" does not exist in <dir>',
        'KP_FILE_MISSING <dir>/k.yaml:5:5 environments[0].command: "setup.sh" does not exist in <dir>',
      ].join('\n'),
    );
  });

  it('returns the spec when the config and its files are fine', async () => {
    dir = await mkdtemp(join(tmpdir(), 'kp-check-'));
    await writeFile(join(dir, 'run.sh'), 'echo hi');
    const file = join(dir, 'k.yaml');
    await writeFile(file, 'project: v\ninstances: [{number: 1, cpus: 1}]\njobs:\n  - name: a\n    run_script: run.sh\n');
    expect((await checkConfigFile(file)).jobs.map((job) => job.id)).toEqual(['a']);
  });
});
