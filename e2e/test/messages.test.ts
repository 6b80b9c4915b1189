import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@katapult/testkit';
import { katapult, REPO_ROOT } from './cli.js';

/** The one-line messages a user meets most, from the built CLI, word for word. */
describe('message snapshots', () => {
  it('usage errors name the flag or argument and end with the usage line', async () => {
    const env = { KATAPULT_HOME: await tempDir('e2e-messages') };
    const tail = await katapult(['logs', '--tail', '-1'], env);
    expect(tail.code).toBe(2);
    expect(tail.stderr).toBe(
      'KP_USAGE --tail: Expected an integer greater than or equal to 0 but received: -1 — usage: katapult logs [JOB] [-f|--follow] [--run RUN] [--tail N] [--since DURATION]\n',
    );
    const prune = await katapult(['images', 'prune', '--dry-run'], env);
    expect(prune.code).toBe(2);
    expect(prune.stderr).toBe(
      'KP_USAGE Missing 1 required arg: configs (config files whose environments are kept) — usage: katapult images prune CONFIGS... [--dry-run]\n',
    );
  });

  it.each(['config.example.py', 'config.minimum.py'])("the original README's %s: validate points to import, whose katapult.yaml validates", async (name) => {
    const env = { KATAPULT_HOME: await tempDir('e2e-messages') };
    const project = await tempDir('e2e-import');
    const original = join(project, 'config.py');
    await copyFile(join(REPO_ROOT, 'core', 'test', 'fixtures', 'original', name), original);
    // The files its jobs and environment name, as the original's examples folder holds them.
    await mkdir(join(project, 'examples'));
    for (const file of ['examples/run_remote.py', 'examples/install_julia.sh', 'examples/environment.yml', 'examples/requirements.txt', 'uploaded.txt', 'input.dat']) {
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
    expect(again.stderr).toBe(`KP_IMPORT_EXISTS ${project}/katapult.yaml already exists (use --force to overwrite it, or --out another file)\n`);
  });
});
