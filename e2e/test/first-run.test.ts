import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker, tempDir, terminalScreen } from '@katapult/testkit';
import { katapult, REPO_ROOT } from './cli.js';

/** The README's first command on a terminal, in a state folder that has never held a stack. */
describe('a first run on a terminal', () => {
  let env: NodeJS.ProcessEnv;
  let output: string;
  let code: number;

  beforeAll(async () => {
    await requireDocker();
    env = { KATAPULT_HOME: await tempDir('e2e-first-run') };
    // `script` gives the CLI a pseudo-terminal as its stdout, as a person's shell would.
    const command = [process.execPath, join(REPO_ROOT, 'cli', 'bin', 'run.js'), 'launch', 'examples/hello/katapult.yaml'].join(' ');
    ({ output, code } = await new Promise<{ output: string; code: number }>((resolve) => {
      execFile(
        'script',
        ['-qec', command, '/dev/null'],
        { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 900_000, maxBuffer: 64 << 20 },
        (error, stdout) =>
          resolve({ output: stdout.replace(/\r\n/g, '\n'), code: error ? (typeof error.code === 'number' ? error.code : 1) : 0 }),
      );
    }));
  }, 900_000);

  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it('exits 0 and shows under 40 lines: one per step, the jobs, the final table; no build output', () => {
    expect(code).toBe(0);
    const screen = terminalScreen(output);
    expect(screen.length).toBeLessThan(40);
    expect(screen[0]).toMatch(/^\[ +\d+\.\ds\] starting nats-server \(JetStream\)$/);
    expect(screen).toContainEqual(expect.stringMatching(/^\[ +\d+\.\ds\] run r-\S+ submitted: 4 jobs on 2 instances$/));
    expect(screen).toContainEqual(expect.stringMatching(/^run r-\S+ \(hello, examples\/hello\/katapult.yaml\): done — 4 done$/));
    expect(screen.filter((line) => /Step \d+\/\d+|--->|I: Retrieving/.test(line))).toEqual([]);
  });

  it('a run of 60 jobs is followed on one line redrawn with the counts and a bar, not a line each time', async () => {
    const project = await tempDir('e2e-first-run-big');
    const file = join(project, 'katapult.yaml');
    await writeFile(
      file,
      [
        'project: big-run',
        'instances: [{ number: 2, cpus: 1 }]',
        'jobs:',
        '  - name: tick',
        '    run_command: sleep 0.2',
        '    repeat: 60',
        '',
      ].join('\n'),
    );
    const command = [process.execPath, join(REPO_ROOT, 'cli', 'bin', 'run.js'), 'launch', file].join(' ');
    const big = await new Promise<string>((resolve) => {
      execFile(
        'script',
        ['-qec', command, '/dev/null'],
        { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 900_000, maxBuffer: 64 << 20 },
        (_error, stdout) => resolve(stdout.replace(/\r\n/g, '\n')),
      );
    });
    const status = /^\[ +\d+\.\ds\] \[[#-]{20}\] \d+\/60 /;
    // Drawn several times as the jobs ended, each over the one before.
    expect(big.split('\r').filter((piece) => status.test(piece.replace(/^\x1b\[2K/, ''))).length).toBeGreaterThan(1);
    const screen = terminalScreen(big);
    expect(screen.filter((line) => status.test(line))).toEqual([expect.stringMatching(/\] \[#{20}\] 60\/60 60 done/)]);
    expect(screen).toContainEqual(expect.stringMatching(/^run r-\S+ \(big-run, .*katapult\.yaml\): done — 60 done$/));
  }, 900_000);
});
