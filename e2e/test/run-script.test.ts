import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker, startWheelIndex, tempDir, type WheelIndex } from '@katapult/testkit';
import { katapult, REPO_ROOT, type CliResult } from './cli.js';

/** Runs the built CLI from `cwd`, as a user in their project folder would. */
function katapultIn(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO_ROOT, 'cli', 'bin', 'run.js'), ...args],
      { cwd, env: { ...process.env, ...env }, timeout: 600_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** `katapult run SCRIPT`: one script of the current folder, with no config, on the local default. */
describe('katapult run', () => {
  let env: NodeJS.ProcessEnv;
  let index: WheelIndex;
  let project: string;

  beforeAll(async () => {
    await requireDocker();
    index = await startWheelIndex({ name: 'kpgreet', version: '1.0.0', source: 'def greet(name):\n    return f"greetings, {name}"\n' });
    env = { KATAPULT_HOME: await tempDir('e2e-run-script'), PIP_INDEX_URL: index.url };
    project = await tempDir('e2e-run-script-project');
    await writeFile(
      join(project, 'main.py'),
      [
        'import json, os, sys',
        'from shapes import area',
        'import kpgreet',
        '',
        'side = int(sys.argv[1])',
        'print(kpgreet.greet(sys.argv[2]))',
        'print("warming up", file=sys.stderr)',
        'os.makedirs("out", exist_ok=True)',
        'with open("out/area.json", "w") as f:',
        '    json.dump({"side": side, "area": area(side)}, f)',
        '',
      ].join('\n'),
    );
    await writeFile(join(project, 'shapes.py'), 'import math\n\ndef area(side):\n    return side * side\n');
    await writeFile(join(project, 'unrelated.py'), 'import torch\n');
  });
  afterAll(async () => {
    await index?.stop();
    if (env) await katapult(['down'], env);
  });

  it('guesses the environment and the files, runs the script, prints its output and fetches what it wrote', async () => {
    const result = await katapultIn(project, ['run', 'main.py', '7', 'two words', '--outputs', 'out', '--cpus', '1', '--save'], env);
    expect(result.stderr).toBe('warming up\n');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'environment: python3 with kpgreet (guessed from the imports of main.py; --pip to change)',
      'files: main.py, shapes.py (the script and the modules it imports from this folder; --folder for all)',
      `saved as ${join(project, 'katapult.yaml')}: katapult launch katapult.yaml runs it again`,
    ]);
    const output = result.stdout.slice(result.stdout.indexOf('--- output of main.py ---\n'));
    const runId = /done in run (r-[0-9a-z-]+)\n$/.exec(result.stdout)?.[1];
    expect(output).toBe(
      `--- output of main.py ---\ngreetings, two words\n---\noutputs: out/area.json -> results/${runId}/main\nmain.py done in run ${runId}\n`,
    );
    expect(JSON.parse(await readFile(join(project, 'results', runId!, 'main', 'out', 'area.json'), 'utf8'))).toEqual({ side: 7, area: 49 });

    // The saved config is the same run: launched, it does the same.
    expect(await readFile(join(project, 'katapult.yaml'), 'utf8')).toContain(`    run_script: "main.py 7 'two words'"\n`);
    const again = await katapultIn(project, ['launch', 'katapult.yaml', '--wait'], env);
    expect(again.code).toBe(0);
    expect((await katapultIn(project, ['logs', 'main'], env)).stdout).toBe('greetings, two words\n');
  }, 900_000);

  it('exits 1 when the script fails, after its output', async () => {
    await writeFile(join(project, 'fail.py'), 'import sys\nimport kpgreet\nprint(kpgreet.greet("failure"))\nsys.exit(3)\n');
    const result = await katapultIn(project, ['run', 'fail.py', '--cpus', '1'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /--- output of fail\.py ---\ngreetings, failure\n---\nfail\.py failed with exit code 3 \(run r-[0-9a-z-]+\)\n$/,
    );
  }, 600_000);

  it('--type writes a run on one EC2 instance; --dry-run with --save writes it and starts nothing', async () => {
    const folder = await tempDir('e2e-run-script-aws');
    await writeFile(join(folder, 'train.py'), 'import json\nprint(json.dumps({"ok": True}))\n');
    const home = { KATAPULT_HOME: await tempDir('e2e-run-script-aws-home') };
    const aws = ['--type', 'c5.xlarge', '--region', 'eu-west-3', '--maestro-address', '203.0.113.5', '--eco', '--max-bid', '0.1'];
    const dry = await katapultIn(folder, ['run', 'train.py', ...aws, '--save', '--dry-run'], home);
    expect(dry.code).toBe(0);
    expect(dry.stdout.split('\n').slice(-2)).toEqual(['dry run: nothing was started; it would run on one c5.xlarge instance on EC2', '']);
    const saved = await readFile(join(folder, 'katapult.yaml'), 'utf8');
    for (const line of [
      'provider: aws',
      'registry: ecr',
      '    type: "c5.xlarge"',
      '    region: "eu-west-3"',
      '    eco: true',
      '    max_bid: 0.1',
    ])
      expect(saved).toContain(`${line}`);
    expect((await katapultIn(folder, ['validate', 'katapult.yaml'], home)).code).toBe(0);
    expect(existsSync(join(home.KATAPULT_HOME, 'stack.json'))).toBe(false);

    const noAddress = await katapultIn(folder, ['run', 'train.py', '--type', 'c5.xlarge', '--dry-run'], home);
    expect(noAddress).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /^KP_USAGE --type runs the script on EC2, whose instance must reach this machine's NATS: give --maestro-address/,
      ),
    });
    const regionAlone = await katapultIn(folder, ['run', 'train.py', '--region', 'eu-west-3', '--dry-run'], home);
    expect(regionAlone).toMatchObject({ code: 2, stderr: expect.stringMatching(/^KP_USAGE .*--type/) });
  });

  it('says what is wrong with the script or the flags in one line, before anything starts', async () => {
    const folder = await tempDir('e2e-run-script-bad');
    await writeFile(join(folder, 'main.py'), 'print("never run")\n');
    await writeFile(join(folder, 'notes.txt'), 'not a script\n');
    await writeFile(join(folder, 'katapult.yaml'), 'jobs:\n  - run_command: true\n');
    expect(await katapultIn(folder, ['run', 'missing.py'], env)).toEqual({
      code: 2,
      stdout: '',
      stderr: 'KP_RUN_SCRIPT_NOT_FOUND missing.py: no such file\n',
    });
    expect((await katapultIn(folder, ['run', 'notes.txt'], env)).stderr).toMatch(
      /^KP_RUN_SCRIPT_KIND notes\.txt: katapult run takes a Python \(\.py\) or Julia \(\.jl\) script/,
    );
    expect((await katapultIn(folder, ['run', '../main.py'], env)).stderr).toMatch(
      /^KP_RUN_SCRIPT_OUTSIDE \.\.\/main\.py is outside the current folder/,
    );
    expect((await katapultIn(folder, ['run', 'main.py', '--save'], env)).stderr).toMatch(
      /^KP_RUN_SAVE_EXISTS .*katapult\.yaml exists; --save would overwrite it/,
    );
    expect(await katapultIn(folder, ['run', 'main.py', '--folder', '--max-upload', '10'], env)).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'KP_RUN_FOLDER_TOO_BIG the folder holds more than 10B of files (--max-upload), at katapult.yaml (leave out --folder (only the modules the script imports are uploaded), or raise --max-upload)\n',
    });
  }, 120_000);
});
