import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '@katapult/core';
import { requireDocker, tempDir } from '@katapult/testkit';
import { katapult, REPO_ROOT } from './cli.js';

/** What a run's jobs print: job → its lines, in order; b's second line goes to stderr. */
const PRINTED = { alpha: ['a1', 'a2', 'a3'], b: ['b1', 'b2'], 'gamma-long': ['g1'] } as const;
const prefixed = (job: keyof typeof PRINTED, line: string) => `${job.padEnd('gamma-long'.length)} | ${line}`;
const lines = (stdout: string) => stdout.split('\n').filter(Boolean);

/** `katapult logs` on a terminal: `script` gives the CLI a pseudo-terminal as its stdout. */
function katapultOnTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const command = [process.execPath, join(REPO_ROOT, 'cli', 'bin', 'run.js'), ...args].join(' ');
  return new Promise((resolve, reject) => {
    execFile(
      'script',
      ['-qec', command, '/dev/null'],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout) =>
        error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(stdout.replace(/\r\n/g, '\n')),
    );
  });
}

describe('logs of a whole run, init and doctor', () => {
  let env: NodeJS.ProcessEnv;
  let project: string;
  let runId: string;
  let launchedAt: number;

  const config = async (name: string, jobs: string[]) => {
    const file = join(project, `${name}.yaml`);
    await writeFile(file, [`project: ${name}`, 'instances: [{ number: 1, cpus: 2 }]', 'jobs:', ...jobs, ''].join('\n'));
    return file;
  };

  beforeAll(async () => {
    await requireDocker();
    env = { KATAPULT_HOME: await tempDir('e2e-cli-ux') };
    project = await tempDir('e2e-cli-ux-project');
    const file = await config('ux', [
      '  - name: alpha',
      '    run_command: echo a1; echo a2; echo a3',
      '  - name: b',
      // stdout and stderr are read apart, so a line on each printed at once may be stored in either order.
      '    run_command: echo b1; sleep 0.5; echo b2 >&2',
      '  - name: gamma-long',
      '    run_command: echo g1',
    ]);
    launchedAt = Date.now();
    const launch = await katapult(['launch', file, '--wait'], env);
    expect(launch.code).toBe(0);
    const [run] = JSON.parse((await katapult(['status', '--json'], env)).stdout) as RunView[];
    runId = run!.id;
  });

  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it("logs with no job prints every job's lines, each after its job's padded name, without colour when not on a terminal", async () => {
    const logs = await katapult(['logs'], env);
    expect(logs.stderr).toBe('');
    expect(logs.code).toBe(0);
    expect(logs.stdout).not.toContain('\x1b');
    const printed = lines(logs.stdout);
    const expected = Object.entries(PRINTED).flatMap(([job, jobLines]) =>
      jobLines.map((line) => prefixed(job as keyof typeof PRINTED, line)),
    );
    expect([...printed].sort()).toEqual([...expected].sort());
    // Interleaved across jobs, but each job's lines in the order it printed them.
    for (const job of Object.keys(PRINTED) as (keyof typeof PRINTED)[]) {
      expect(printed.filter((line) => line.startsWith(`${job} `))).toEqual(PRINTED[job].map((line) => prefixed(job, line)));
    }
  });

  it('on a terminal each job has its own colour, unless NO_COLOR is set', async () => {
    const coloured = await katapultOnTerminal(['logs', '--tail', '1'], env);
    expect(coloured).toContain(`\x1b[36m${'alpha'.padEnd(10)} |\x1b[0m a3\n`);
    expect(coloured).toContain(`\x1b[33m${'b'.padEnd(10)} |\x1b[0m b2\n`);
    expect(coloured).toContain('\x1b[32mgamma-long |\x1b[0m g1\n');
    const plain = await katapultOnTerminal(['logs', '--tail', '1'], { ...env, NO_COLOR: '1' });
    expect(plain).not.toContain('\x1b');
    expect(plain).toContain(`${prefixed('alpha', 'a3')}\n`);
  });

  it('--tail N keeps the last N lines of each job, stdout and stderr alike', async () => {
    const tail = await katapult(['logs', '--tail', '1'], env);
    expect(tail.code).toBe(0);
    expect(lines(tail.stdout).sort()).toEqual([prefixed('alpha', 'a3'), prefixed('b', 'b2'), prefixed('gamma-long', 'g1')]);
    const two = await katapult(['logs', 'alpha', '--tail', '2'], env);
    expect(two.stdout).toBe('a2\na3\n');
    const stderrLast = await katapult(['logs', 'b', '--tail', '1'], env);
    expect(stderrLast.stdout).toBe('');
    expect(stderrLast.stderr).toBe('b2\n');
  });

  it('--since skips older lines: a moment in the future prints nothing, the last hour prints everything', async () => {
    const future = await katapult(['logs', '--since', new Date(Date.now() + 3_600_000).toISOString()], env);
    expect(future.code).toBe(0);
    expect(future.stdout).toBe('');
    const lastHour = await katapult(['logs', '--since', '1h'], env);
    expect(lines(lastHour.stdout)).toHaveLength(6);
    const bad = await katapult(['logs', '--since', 'yesterday'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'KP_USAGE --since "yesterday" is neither a duration (30s, 10m, 2h, 1d) nor an ISO timestamp (2026-11-25T08:15:00Z)\n',
    );
  });

  it('--json gives each line with its job, stream, attempt and time', async () => {
    const json = await katapult(['logs', '--json'], env);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as {
      runId: string;
      lines: { job: string; stream: string; line: string; attempt: number; at: number }[];
    };
    expect(result.runId).toBe(runId);
    expect(result.lines).toHaveLength(6);
    for (const entry of result.lines) {
      expect(Object.keys(entry).sort()).toEqual(['at', 'attempt', 'job', 'line', 'stream']);
      expect(entry.attempt).toBe(1);
      expect(entry.at).toBeGreaterThanOrEqual(launchedAt);
      expect(entry.at).toBeLessThanOrEqual(Date.now());
    }
    expect(result.lines.find((entry) => entry.line === 'b2')).toMatchObject({ job: 'b', stream: 'stderr' });
    expect(result.lines.find((entry) => entry.line === 'g1')).toMatchObject({ job: 'gamma-long', stream: 'stdout' });
  });

  it('logs -f with no job follows every job of a run still going until the run is over', async () => {
    const file = await config('late', [
      '  - name: one',
      '    run_command: sleep 3; echo one late',
      '  - name: two',
      '    run_command: echo two early; sleep 5; echo two late',
    ]);
    const launched = await katapult(['launch', file, '--detach', '--json'], env);
    expect(launched.code).toBe(0);
    const lateRun = (JSON.parse(launched.stdout) as { runId: string }).runId;
    const follow = await katapult(['logs', '-f', '--run', lateRun], env);
    expect(follow.code).toBe(0);
    expect(lines(follow.stdout).sort()).toEqual(['one | one late', 'two | two early', 'two | two late']);
    const [run] = JSON.parse((await katapult(['status', lateRun, '--json'], env)).stdout) as RunView[];
    expect(run!.state).toBe('done');
  }, 120_000);

  it('a job printing 100,000 lines and a 3 MB line: logs gives every line whole and in order, --tail the last ones', async () => {
    const big = 'y'.repeat(3 * 1024 * 1024);
    const file = await config('big', [
      '  - name: big',
      `    run_command: "seq 1 100000; head -c ${big.length} /dev/zero | tr '\\\\0' y; echo; echo end >&2"`,
    ]);
    const launched = await katapult(['launch', file, '--wait', '--json'], env);
    expect(launched.code).toBe(0);
    const bigRun = (JSON.parse(launched.stdout) as RunView).id;
    const logs = await katapult(['logs', 'big', '--run', bigRun], env);
    expect(logs.code).toBe(0);
    expect(logs.stderr).toBe('end\n');
    expect(logs.stdout).toBe(`${Array.from({ length: 100_000 }, (_, index) => index + 1).join('\n')}\n${big}\n`);
    const tail = await katapult(['logs', 'big', '--run', bigRun, '--tail', '2', '--json'], env);
    const result = JSON.parse(tail.stdout) as { exitCode: number; lines: { stream: string; line: string }[] };
    expect(result.exitCode).toBe(0);
    // stdout and stderr are read apart: the last line of each may be stored in either order.
    expect(result.lines.map((entry) => `${entry.stream} ${entry.line.length}`).sort()).toEqual(['stderr 3', `stdout ${big.length}`]);
  }, 180_000);

  it("a retried job's log opens each attempt with a header; --attempt N prints that attempt alone, without one", async () => {
    const file = await config('retried', ['  - name: flaky', '    retries: 1', '    run_command: echo ran; exit 3']);
    expect((await katapult(['launch', file, '--wait'], env)).code).toBe(1);

    expect(lines((await katapult(['logs', 'flaky'], env)).stdout)).toEqual(['── attempt 1 ──', 'ran', '── attempt 2 ──', 'ran']);
    expect(lines((await katapult(['logs'], env)).stdout)).toEqual([
      'flaky | ── attempt 1 ──',
      'flaky | ran',
      'flaky | ── attempt 2 ──',
      'flaky | ran',
    ]);
    const second = await katapult(['logs', 'flaky', '--attempt', '2', '--json'], env);
    expect(
      (JSON.parse(second.stdout) as { lines: { line: string; attempt: number }[] }).lines.map(({ line, attempt }) => [line, attempt]),
    ).toEqual([['ran', 2]]);
    expect(lines((await katapult(['logs', 'flaky', '--attempt', '1'], env)).stdout)).toEqual(['ran']);

    const none = await katapult(['logs', 'flaky', '--attempt', '3'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/KP_ATTEMPT_NOT_FOUND --attempt 3: job "flaky" of run r-\S+ has had 2 attempts so far/);
  });

  it('init writes a starter that validate accepts, and will not overwrite it without --force', async () => {
    const dir = join(await tempDir('e2e-init'), 'new-project');
    const init = await katapult(['init', dir], env);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(`wrote ${dir}/katapult.yaml, ${dir}/run.sh`);
    const validate = await katapult(['validate', join(dir, 'katapult.yaml')], env);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toBe(`${dir}/katapult.yaml is valid: 3 jobs, 2 instances, 1 environment\n`);
    const again = await katapult(['init', dir], env);
    expect(again.code).toBe(2);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe(`KP_INIT_EXISTS ${dir}/katapult.yaml already exists (use --force to overwrite it)\n`);
    expect((await katapult(['init', dir, '--force'], env)).code).toBe(0);
  });

  it('doctor reports Docker and the running stack ok and exits 0; an unreachable engine fails it with exit 3', async () => {
    const doctor = await katapult(['doctor', '--json'], env);
    expect(doctor.code).toBe(0);
    const { checks } = JSON.parse(doctor.stdout) as { checks: { name: string; status: string; detail: string }[] };
    expect(checks.map((check) => check.name)).toEqual([
      'docker',
      'nats-server',
      'docker-registry',
      'debootstrap',
      'local stack',
      'free space',
      'aws credentials',
    ]);
    expect(checks.find((check) => check.name === 'docker')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^engine \S+ at /),
    });
    expect(checks.find((check) => check.name === 'local stack')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^running: nats-server :\d+, registry :\d+, registry \(read-only\) :\d+, coordinator :\d+/),
    });
    expect(checks.find((check) => check.name === 'free space')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^[\d.]+ [kMGT]?B free in \//),
    });

    const noDocker = await katapult(['doctor'], { ...env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(noDocker.code).toBe(3);
    expect(noDocker.stdout).toMatch(/^CHECK +STATUS +DETAIL$/m);
    expect(noDocker.stdout).toMatch(/^docker +fail +cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker.sock/m);
  });
});
