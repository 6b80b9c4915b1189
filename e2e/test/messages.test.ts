import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireDocker, tempDir } from '@katapult/testkit';
import { katapult, REPO_ROOT } from './cli.js';

/** The one-line messages a user meets most, from the built CLI, word for word. */
describe('message snapshots', () => {
  it('usage errors name the flag or argument and end with the usage line', async () => {
    const env = { KATAPULT_HOME: await tempDir('e2e-messages') };
    const tail = await katapult(['logs', '--tail', '-1'], env);
    expect(tail.code).toBe(2);
    expect(tail.stderr).toBe(
      'KP_USAGE --tail: Expected an integer greater than or equal to 0 but received: -1 — usage: katapult logs [JOB] [-f|--follow] [--run RUN] [--tail N] [--attempt N] [--since DURATION]\n',
    );
    const prune = await katapult(['images', 'prune', '--dry-run'], env);
    expect(prune.code).toBe(2);
    expect(prune.stderr).toBe(
      'KP_USAGE Missing 1 required arg: configs (config files whose environments are kept) — usage: katapult images prune CONFIGS... [--dry-run]\n',
    );
  });

  it.each(['config.example.py', 'config.minimum.py'])(
    "the original README's %s: validate points to import, whose katapult.yaml validates",
    async (name) => {
      const env = { KATAPULT_HOME: await tempDir('e2e-messages') };
      const project = await tempDir('e2e-import');
      const original = join(project, 'config.py');
      await copyFile(join(REPO_ROOT, 'core', 'test', 'fixtures', 'original', name), original);
      // The files its jobs and environment name, as the original's examples folder holds them.
      await mkdir(join(project, 'examples'));
      for (const file of [
        'examples/run_remote.py',
        'examples/install_julia.sh',
        'examples/environment.yml',
        'examples/requirements.txt',
        'uploaded.txt',
        'input.dat',
      ]) {
        await writeFile(join(project, file), '');
      }
      const refused = await katapult(['validate', original], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toBe(
        `KP_CONFIG_PYTHON ${original} is a Python config of the original tool; Katapult reads YAML or JSON (convert it: katapult import ${original})\n`,
      );
      const imported = await katapult(['import', original, '--maestro-address', '203.0.113.5'], env);
      expect(imported.stderr).toBe('');
      expect(imported.stdout).toBe(`wrote ${project}/katapult.yaml from ${original}\nnext: katapult validate ${project}/katapult.yaml\n`);
      const validated = await katapult(['validate', join(project, 'katapult.yaml')], env);
      expect(validated.stderr).toBe('');
      expect(validated.code).toBe(0);
      const again = await katapult(['import', original], env);
      expect(again.code).toBe(2);
      expect(again.stderr).toBe(
        `KP_IMPORT_EXISTS ${project}/katapult.yaml already exists (use --force to overwrite it, or --out another file)\n`,
      );
    },
  );

  it('validate reports every problem at once, file problems beside schema errors, each at file:line:col of its key', async () => {
    const env = { KATAPULT_HOME: await tempDir('e2e-messages') };
    const project = await tempDir('e2e-validate');
    await mkdir(join(project, 'data'));
    const config = join(project, 'katapult.yaml');
    await writeFile(
      config,
      [
        'project: check',
        'instances: [{ number: 1, cpus: 1 }]',
        'jobs:',
        '  - name: a',
        '    run_script: sim.py 1 10',
        '    upload_files: [data, ../secret.txt]',
        '    evn_name: base',
        '  - name: b',
        '    input_files: missing.csv',
        '    run_command: cat missing.csv',
        '',
      ].join('\n'),
    );
    const result = await katapult(['validate', config], env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.replaceAll(project, '<dir>')).toBe(
      [
        'KP_FILE_MISSING <dir>/katapult.yaml:5:5 jobs[0].run_script: "sim.py" does not exist in <dir>',
        'KP_FILE_NOT_A_FILE <dir>/katapult.yaml:6:20 jobs[0].upload_files[0]: "data" is a folder, not a file; list the files it holds',
        'KP_FILE_OUTSIDE_PROJECT <dir>/katapult.yaml:6:26 jobs[0].upload_files[1]: "../secret.txt" escapes the project folder',
        'KP_CONFIG_INVALID <dir>/katapult.yaml:7:5 jobs[0].evn_name: unknown key, did you mean env_name?',
        'KP_FILE_MISSING <dir>/katapult.yaml:9:5 jobs[1].input_files: "missing.csv" does not exist in <dir>',
        '',
      ].join('\n'),
    );
  });

  it('a build that cannot reach its server says why on its one line and exits 3', async () => {
    await requireDocker();
    const env = { KATAPULT_HOME: await tempDir('e2e-messages-build') };
    const project = await tempDir('e2e-offline');
    const config = join(project, 'katapult.yaml');
    // A download from a host that never resolves (.invalid), as conda's and julia's installers do when offline.
    const command = `perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => "downloads.invalid:80") or die "could not connect: $@\\n"'`;
    await writeFile(
      config,
      ['environments:', '  - name: offline', `    command: ${JSON.stringify(command)}`, 'jobs:', '  - run_command: "true"', ''].join('\n'),
    );
    try {
      const build = await katapult(['build', config], env);
      expect(build.code).toBe(3);
      expect(build.stderr).toMatch(
        /^KP_ENV_BUILD_FAILED environment "offline" failed at its command step: could not connect: IO::Socket::INET: Bad hostname 'downloads.invalid:80' \(exit code \d+\) \(a server the build needs could not be reached: check this machine's network or proxy; full build log: .*\/builds\/offline-[0-9a-f]+\.log\)\n$/,
      );
    } finally {
      await katapult(['down'], env);
    }
  }, 600_000);
});
