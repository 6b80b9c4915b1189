import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView, RunView } from '@katapult/core';
import { requireDocker, tempDir, waitFor } from '@katapult/testkit';
import { katapult } from './cli.js';

/**
 * Things die for real here: an agent container is killed, the coordinator gets SIGKILL, nats-server is
 * stopped and started again. Each test asserts the final job states and what the jobs wrote.
 */
describe('fault tolerance on the local default', () => {
  const docker = new Docker();
  let env: NodeJS.ProcessEnv;
  let home: string;
  let project: string;

  const stack = () =>
    JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8')) as { label: string; nats: { pid: number }; coordinator?: { pid: number } };
  const run = async (runId: string) => (JSON.parse((await katapult(['status', runId, '--json'], env)).stdout) as RunView[])[0]!;
  const runIdOf = (stdout: string) => (JSON.parse(stdout) as { runId: string }).runId;
  const config = async (name: string, lines: string[]) => {
    const file = join(project, `${name}.yaml`);
    await writeFile(file, [`project: ${name}`, 'instances: [{ number: 2, cpus: 1 }]', 'jobs:', ...lines, ''].join('\n'));
    return file;
  };
  const fetched = async (runId: string, job: JobView, file: string) => {
    const out = await tempDir('e2e-faults-out');
    await katapult(['fetch', runId, '--out', out], env);
    return readFile(join(out, runId, job.id, file), 'utf8');
  };

  beforeAll(async () => {
    await requireDocker();
    home = await tempDir('e2e-faults');
    env = { KATAPULT_HOME: home };
    project = await tempDir('e2e-faults-project');
  });
  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it('a job whose agent container is killed completes on another agent, and the instance is replaced', async () => {
    const file = await config('agent-killed', [
      '  - name: long',
      // Attempt 1 lasts until its agent is gone, however long a loaded machine takes to get there.
      '    run_command: "if [ $KATAPULT_ATTEMPT -eq 1 ]; then sleep 600; fi; sleep 6; echo finished > result.txt"',
      '    output_files: result.txt',
    ]);
    const runId = runIdOf((await katapult(['launch', file, '--detach', '--json'], env)).stdout);
    await waitFor(async () => (await run(runId)).jobs[0]!.state === 'running', { what: 'the job running', timeoutMs: 60_000 });
    const victim = (await run(runId)).jobs[0]!.agentId!;
    const [container] = await docker.listContainers({ filters: { label: ['katapult.role=agent', `katapult.agent=${victim}`] } });
    await docker.getContainer(container!.Id).kill();

    await waitFor(async () => (await run(runId)).state !== 'running', { what: 'the run over', timeoutMs: 90_000 });
    const final = await run(runId);
    expect(final.state).toBe('done');
    expect(final.jobs[0]).toMatchObject({ state: 'done', attempt: 2, exitCode: 0 });
    expect(final.jobs[0]!.agentId).not.toBe(victim);
    expect(await fetched(runId, final.jobs[0]!, 'result.txt')).toBe('finished\n');
    const agents = await docker.listContainers({ filters: { label: ['katapult.role=agent', `katapult.agent=${victim}`] } });
    expect(agents).toEqual([]);
    // This stack's agents only: other test files run stacks of their own on the same Docker.
    const running = await docker.listContainers({ filters: { label: ['katapult.role=agent', `katapult.stack=${stack().label}`] } });
    expect(running.filter((agent) => agent.Labels['katapult.slot'] === container!.Labels['katapult.slot'])).toHaveLength(1);
  }, 180_000);

  it('a stalled agent (docker pause) is fenced before its job runs again: its job container is gone, so the job never completes twice', async () => {
    const file = await config('agent-paused', [
      '  - name: slow',
      // Attempt 1 lasts until its agent is fenced, however long a loaded machine takes to get there.
      '    run_command: "if [ $KATAPULT_ATTEMPT -eq 1 ]; then sleep 600; fi; sleep 15; echo finished > result.txt"',
      '    output_files: result.txt',
    ]);
    const runId = runIdOf((await katapult(['launch', file, '--detach', '--json'], env)).stdout);
    await waitFor(async () => (await run(runId)).jobs[0]!.state === 'running', { what: 'the job running', timeoutMs: 120_000 });
    const victim = (await run(runId)).jobs[0]!.agentId!;
    const [agent] = await docker.listContainers({ filters: { label: ['katapult.role=agent', `katapult.agent=${victim}`] } });
    await docker.getContainer(agent!.Id).pause();

    await waitFor(async () => (await run(runId)).jobs[0]!.attempt === 2, { what: 'the job requeued as attempt 2', timeoutMs: 120_000 });
    // Requeued only once fenced: the stalled agent and the container of its attempt are gone, not just paused.
    const firstAttempt = await docker.listContainers({ all: true, filters: { label: [`katapult.run=${runId}`, 'katapult.attempt=1'] } });
    expect(firstAttempt).toEqual([]);
    expect(await docker.listContainers({ all: true, filters: { label: [`katapult.agent=${victim}`] } })).toEqual([]);

    await waitFor(async () => (await run(runId)).state !== 'running', { what: 'the run over', timeoutMs: 120_000 });
    const final = await run(runId);
    expect(final.jobs[0]).toMatchObject({ state: 'done', attempt: 2, exitCode: 0 });
    expect(final.jobs[0]!.agentId).not.toBe(victim);
    expect(await fetched(runId, final.jobs[0]!, 'result.txt')).toBe('finished\n');
  }, 300_000);

  it('the coordinator killed with SIGKILL mid-run: launching the same config again resumes the run, every job done once', async () => {
    const jobs = [
      '  - name: step',
      '    run_command: "sleep 3; echo $HOSTNAME > host.txt; echo step done"',
      '    output_files: host.txt',
      '    repeat: 4',
    ];
    const file = await config('coordinator-killed', jobs);
    const runId = runIdOf((await katapult(['launch', file, '--detach', '--json'], env)).stdout);
    await waitFor(async () => (await run(runId)).jobs.some((job) => job.state === 'running'), { what: 'a job running', timeoutMs: 60_000 });
    process.kill(stack().coordinator!.pid, 'SIGKILL');

    const again = await katapult(['launch', file], env);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`run ${runId} is already going for this config (recover: true)`);
    const final = await run(runId);
    expect(final.jobs.map((job) => [job.id, job.state, job.attempt])).toEqual([1, 2, 3, 4].map((n) => [`step-${n}`, 'done', 1]));
    for (const job of final.jobs) {
      expect((await katapult(['logs', job.id, '--run', runId], env)).stdout).toBe('step done\n');
      expect(await fetched(runId, job, 'host.txt')).not.toBe('');
    }
    // A launch, the coordinator's recovery and ten CLI calls: three minutes were not enough beside two CPU hogs.
  }, 600_000);

  it('nats-server stopped and started again mid-run: no log line is missing', async () => {
    const file = await config('nats-restarted', [
      '  - name: ticker',
      '    run_command: "for i in $(seq 1 60); do echo line $i; sleep 0.1; done"',
    ]);
    const runId = runIdOf((await katapult(['launch', file, '--detach', '--json'], env)).stdout);
    await waitFor(async () => (await run(runId)).jobs[0]!.state === 'running', { what: 'the ticker running', timeoutMs: 60_000 });
    process.kill(stack().nats.pid, 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    // launch brings NATS back on the same port, then finds the run still going and follows it.
    const again = await katapult(['launch', file], env);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`run ${runId} is already going for this config`);
    const final = await run(runId);
    expect(final.jobs[0]).toMatchObject({ state: 'done', attempt: 1, exitCode: 0 });
    const logs = await katapult(['logs', 'ticker', '--run', runId], env);
    expect(logs.stdout).toBe(Array.from({ length: 60 }, (_, i) => `line ${i + 1}\n`).join(''));
  }, 180_000);
});
