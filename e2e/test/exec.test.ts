import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '@katapult/core';
import { logMessages, requireDocker, tempDir, waitFor } from '@katapult/testkit';
import { katapult, REPO_ROOT } from './cli.js';

/** `katapult exec`: a command in a running job's container, through its agent over NATS. */
describe('katapult exec', () => {
  let env: NodeJS.ProcessEnv;
  let home: string;
  let runId: string;

  beforeAll(async () => {
    await requireDocker();
    home = await tempDir('e2e-exec');
    env = { KATAPULT_HOME: home };
    const project = await tempDir('e2e-exec-project');
    await writeFile(
      join(project, 'k.yaml'),
      'project: exec\njobs:\n  - name: sleeper\n    run_command: sleep 600\n  - name: quick\n    run_command: echo over\n',
    );
    const launch = await katapult(['launch', join(project, 'k.yaml'), '--detach', '--json'], env);
    expect(launch.code).toBe(0);
    runId = (JSON.parse(launch.stdout) as { runId: string }).runId;
    await waitFor(
      async () => {
        const [run] = JSON.parse((await katapult(['status', runId, '--json'], env)).stdout) as RunView[];
        const state = (job: string) => run?.jobs.find((candidate) => candidate.id === job)?.state;
        return state('sleeper') === 'running' && state('quick') === 'done';
      },
      { what: 'the sleeper to run', timeoutMs: 300_000, intervalMs: 500 },
    );
  }, 600_000);
  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it("prints the command's output and exits with its exit code", async () => {
    const hi = await katapult(['exec', 'sleeper', '--', 'echo', 'hi'], env);
    expect(hi).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
    const seven = await katapult(['exec', 'sleeper', '--run', runId, '--', 'sh', '-c', 'echo to stderr >&2; exit 7'], env);
    expect(seven).toEqual({ code: 7, stdout: '', stderr: 'to stderr\n' });
  });

  it("runs in the job's container, as the job's user, with stdin passed on", async () => {
    const cli = join(REPO_ROOT, 'cli', 'bin', 'run.js');
    const { stdout } = await promisify(execFile)(
      'sh',
      [
        '-c',
        `printf 'grep -q "sleep 600" /proc/1/cmdline && echo in the job container\\nid -un\\n' | "${process.execPath}" "${cli}" exec sleeper`,
      ],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env },
      },
    );
    expect(stdout).toBe('in the job container\nkatapult\n');
  });

  it('says so for a job that is not running, and logs each exec on the agent', async () => {
    expect(await katapult(['exec', 'quick', '--', 'true'], env)).toMatchObject({
      code: 2,
      stderr: `KP_JOB_NOT_RUNNING job quick of run ${runId} is done, not running: there is no container to enter (katapult status ${runId} shows its state)\n`,
    });
    const { label } = JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8')) as { label: string };
    const agent = (
      await promisify(execFile)('docker', [
        'ps',
        '--filter',
        `label=katapult.stack=${label}`,
        '--filter',
        'label=katapult.role=agent',
        '--format',
        '{{.Names}}',
      ])
    ).stdout.trim();
    const { stdout, stderr } = await promisify(execFile)('docker', ['logs', agent]);
    // The agent logs JSON lines (pino); their messages, one a line, read as its prose did.
    expect(logMessages({ text: `${stdout}${stderr}` })).toMatch(
      new RegExp(
        `exec [0-9a-f]+ by \\S+ in ${runId}/sleeper attempt 1: \\["sh","-c","echo to stderr >&2; exit 7"\\]\\n.*ended with exit code 7`,
      ),
    );
  });

  it('ends with the job: cancel stops the sleeper, and exec then refuses', async () => {
    expect((await katapult(['cancel', 'sleeper'], env)).code).toBe(0);
    expect((await katapult(['exec', 'sleeper', '--', 'true'], env)).stderr).toMatch(
      /^KP_JOB_NOT_RUNNING job sleeper of run \S+ is aborted/,
    );
  });
});
