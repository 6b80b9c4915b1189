import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '@katapult/core';
import { requireDocker, tempDir, waitFor } from '@katapult/testkit';
import { releaseJob, untilReleased } from './release-job.js';
import { katapult } from './cli.js';

/** Runs of one project on one stack: `--wait`, a second config joining its running instances (one pool), and `cancel`. */
const RELEASE = '/tmp/kp-release-slow';

describe('runs sharing one local stack', () => {
  const docker = new Docker();
  let env: NodeJS.ProcessEnv;
  let project: string;

  const config = async (name: string, lines: string[]) => {
    const file = join(project, `${name}.yaml`);
    await writeFile(file, ['project: runs', 'instances: [{ number: 1, cpus: 2 }]', 'jobs:', ...lines, ''].join('\n'));
    return file;
  };
  const status = async (runId: string) => JSON.parse((await katapult(['status', runId, '--json'], env)).stdout) as RunView[];
  const runIdOf = (stdout: string) => /run (r-[0-9a-z-]+) submitted/.exec(stdout)?.[1] ?? JSON.parse(stdout).runId;
  const stackLabel = () => (JSON.parse(readFileSync(join(env.KATAPULT_HOME!, 'stack.json'), 'utf8')) as { label: string }).label;
  const agentContainers = () => docker.listContainers({ filters: { label: ['katapult.role=agent', `katapult.stack=${stackLabel()}`] } });

  beforeAll(async () => {
    await requireDocker();
    env = { KATAPULT_HOME: await tempDir('e2e-runs') };
    project = await tempDir('e2e-runs-project');
  });
  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it('launch --wait prints no progress and exits 0 only when every job is done with exit code 0', async () => {
    const ok = await katapult(['launch', await config('ok', ['  - run_command: "echo fine"']), '--wait'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).not.toMatch(/ running on local-/);
    expect(ok.stdout).toMatch(/^job-1 +default +local-[0-9a-f]{8}-0-[0-9a-f]{4} +[a-z0-9-]+\/[0-9a-f]{8} +done +1 +0 /m);
    const bad = await katapult(
      ['launch', await config('bad', ['  - run_command: "echo fine"', '  - run_command: "exit 4"']), '--wait'],
      env,
    );
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('job-2: failed with exit code 4');
  }, 600_000);

  it('a second config adds its jobs to the running instances (cfg_add_jobs)', async () => {
    const before = (await agentContainers()).map((container) => container.Id);
    // The slow job lasts until the test releases it: it outlasts the second launch however loaded the machine is.
    const first = await katapult(
      ['launch', await config('first', ['  - name: slow', `    run_command: "${untilReleased(RELEASE)}; echo first"`]), '--detach'],
      env,
    );
    expect(first.code).toBe(0);
    const second = await katapult(['launch', await config('second', ['  - name: quick', '    run_command: "echo second"']), '--wait'], env);
    expect(second.code).toBe(0);
    const [firstRun] = await status(runIdOf(first.stdout));
    // The second run finished on the same agent while the first one's job was still going.
    expect(firstRun!.jobs[0]!.state).toMatch(/^(assigned|pulling|running)$/);
    expect((await agentContainers()).map((container) => container.Id)).toEqual(before);
    await releaseJob(firstRun!.id, 'slow', RELEASE);
    await waitFor(async () => (await status(firstRun!.id))[0]!.state === 'done', { what: 'the first run done', timeoutMs: 60_000 });
  }, 600_000);

  it('cancel stops a running job container and marks the job aborted; cancelling a run aborts the rest', async () => {
    const file = await config('cancel', [
      '  - name: sleeper',
      '    run_command: "sleep 300"',
      '    cpus_req: 2',
      '  - name: waiting',
      '    run_command: "echo never"',
      '    cpus_req: 2',
    ]);
    const launch = await katapult(['launch', file, '--detach', '--json'], env);
    const runId = runIdOf(launch.stdout) as string;
    await waitFor(async () => (await status(runId))[0]!.jobs[0]!.state === 'running', { what: 'sleeper running', timeoutMs: 60_000 });

    const cancel = await katapult(['cancel', 'sleeper'], env);
    expect(cancel.stderr).toBe('');
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toBe(`cancelled 1 job of run ${runId}: sleeper\ntheir containers are stopped\n`);
    const containers = await docker.listContainers({ all: true, filters: { label: [`katapult.run=${runId}`, 'katapult.job=sleeper'] } });
    expect(containers).toEqual([]);

    // With the cpus free again, `waiting` may have run already; cancelling the run aborts whatever is left.
    const rest = await katapult(['cancel', runId, '--json'], env);
    expect(rest.code).toBe(0);
    const [run] = await status(runId);
    expect(run!.jobs[0]).toMatchObject({ id: 'sleeper', state: 'aborted', exitCode: null });
    expect(['aborted', 'done']).toContain(run!.jobs[1]!.state);
    const again = await katapult(['cancel', 'sleeper', '--run', runId], env);
    expect(again.stdout).toBe('sleeper had already ended; left as it was\n');
    const unknown = await katapult(['cancel', 'nobody', '--run', runId], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe(`KP_JOB_NOT_FOUND run ${runId} has no job named "nobody"`);
  }, 600_000);

  it('auto_stop stops the instances once the last run has had no work for its idle seconds', async () => {
    const file = await config('idle', ['  - run_command: "echo last"']);
    await writeFile(file, `auto_stop: 2\n${await readFile(file, 'utf8')}`);
    expect((await katapult(['launch', file, '--wait'], env)).code).toBe(0);
    await waitFor(async () => (await agentContainers()).length === 0, { what: 'the agents stopped', timeoutMs: 30_000 });
  }, 120_000);
});
