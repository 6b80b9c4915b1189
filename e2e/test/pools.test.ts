import { cpus } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView, RunView } from '@katapult/core';
import { requireDocker, tempDir, waitFor } from '@katapult/testkit';
import { katapult } from './cli.js';

/**
 * Several projects on one local stack, as users run them: each run gets the instances its config asks for and
 * only those, each pool is stopped by its own auto_stop, and two launches of one entry share its instances.
 */
const DOCKER_WORK_MS = 300_000;

describe('instance pools', () => {
  let env: NodeJS.ProcessEnv;
  let project: string;
  const docker = new Docker();

  const config = async (name: string, lines: string[]) => {
    const file = join(project, `${name}.yaml`);
    await writeFile(file, [...lines, ''].join('\n'));
    return file;
  };
  const status = async (runId: string): Promise<RunView> => {
    const result = await katapult(['status', runId, '--json'], env);
    expect(result.code).toBe(0);
    return (JSON.parse(result.stdout) as RunView[])[0]!;
  };
  const submitted = (stdout: string) =>
    /run (r-[0-9a-z-]+) submitted/.exec(stdout)?.[1] ?? /run (r-[0-9a-z-]+) is already going/.exec(stdout)?.[1];
  const agentContainers = async (pool: string) =>
    docker.listContainers({ filters: { label: ['katapult.role=agent', `katapult.pool=${pool}`] } });

  beforeAll(async () => {
    await requireDocker();
    env = { KATAPULT_HOME: await tempDir('e2e-pools') };
    project = await tempDir('e2e-pools-project');
  });
  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it(
    "a project's 2-cpu job runs on its own 2-cpu instance though another project's 1-cpu instance is up, and that one never runs two jobs at once",
    async () => {
      // Kept up (auto_stop: false) for the next test's launch to find, however long a loaded machine takes to get there.
      const small = await config('small', [
        'project: small',
        'auto_stop: false',
        'instances: [{ number: 1, cpus: 1 }]',
        'jobs:',
        '  - {name: nap, run_command: sleep 2, repeat: 3}',
      ]);
      const big = await config('big', [
        'project: big',
        'instances: [{ number: 1, cpus: 2 }]',
        'jobs:',
        '  - {name: wide, run_command: "true", cpus_req: 2}',
      ]);
      const first = await katapult(['launch', small, '--detach'], env);
      expect(first.code).toBe(0);
      const smallRun = submitted(first.stdout)!;
      const second = await katapult(['launch', big, '--wait'], env);
      expect(second.stderr).toBe('');
      expect(second.code).toBe(0);
      const bigView = await status(submitted(second.stdout)!);
      expect(bigView.jobs.map((job) => [job.state, job.pool?.split('/')[0]])).toEqual([['done', 'big']]);

      const smallView = await waitFor(async () => ((await status(smallRun)).state === 'done' ? status(smallRun) : undefined), {
        what: 'the small run to finish',
        timeoutMs: DOCKER_WORK_MS,
        intervalMs: 500,
      });
      expect(new Set(smallView.jobs.map((job) => job.pool))).toEqual(new Set([smallView.pools![0]]));
      expect(smallView.pools![0]).toMatch(/^small\/[0-9a-f]{8}$/);
      expect(smallView.jobs.some((job) => job.agentId === bigView.jobs[0]!.agentId)).toBe(false);
      // One cpu, three 1-cpu jobs: one after another, never two at once.
      const spans = smallView.jobs.map((job: JobView) => [job.startedAt!, job.finishedAt!] as const).sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    },
    DOCKER_WORK_MS * 2,
  );

  it(
    'a second launch of the same entry by the project shares its pool and its instance',
    async () => {
      const again = await config('small-again', [
        'project: small',
        'auto_stop: false',
        'instances: [{ number: 1, cpus: 1 }]',
        'jobs:',
        '  - {name: later, run_command: "true"}',
      ]);
      const before = (await katapult(['status', '--all', '--json'], env)).stdout;
      const earlier = (JSON.parse(before) as RunView[]).find((run) => run.project === 'small')!;
      const launch = await katapult(['launch', again, '--wait'], env);
      expect(launch.code).toBe(0);
      const view = await status(submitted(launch.stdout)!);
      expect(view.pools).toEqual(earlier.pools);
      expect(view.jobs[0]!.agentId).toBe(earlier.jobs[0]!.agentId);
    },
    DOCKER_WORK_MS,
  );

  it(
    "one project's pool stops after its auto_stop while another project's pool keeps running its job",
    async () => {
      const long = await config('long', [
        'project: long',
        'instances: [{ number: 1, cpus: 1 }]',
        'jobs:',
        '  - {name: wait, run_command: sleep 600}',
      ]);
      const quick = await config('quick', [
        'project: quick',
        'auto_stop: 1',
        'instances: [{ number: 1, cpus: 1 }]',
        'jobs:',
        '  - {name: q, run_command: "true"}',
      ]);
      const longLaunch = await katapult(['launch', long, '--detach'], env);
      expect(longLaunch.code).toBe(0);
      const longRun = submitted(longLaunch.stdout)!;
      const quickLaunch = await katapult(['launch', quick, '--wait'], env);
      expect(quickLaunch.code).toBe(0);
      const quickPool = (await status(submitted(quickLaunch.stdout)!)).pools![0]!;
      const longPool = (await status(longRun)).pools![0]!;
      await waitFor(async () => (await agentContainers(quickPool)).length === 0, {
        what: `pool ${quickPool} to be stopped`,
        timeoutMs: DOCKER_WORK_MS,
        intervalMs: 250,
      });
      const running = await waitFor(async () => ((await status(longRun)).jobs[0]!.state === 'running' ? status(longRun) : undefined), {
        what: 'the long job to run',
        timeoutMs: DOCKER_WORK_MS,
        intervalMs: 500,
      });
      expect(running.jobs[0]!.attempt).toBe(1);
      expect(await agentContainers(longPool)).toHaveLength(1);
      expect((await katapult(['cancel', longRun], env)).code).toBe(0);
    },
    DOCKER_WORK_MS * 2,
  );

  it('validate refuses a local instance with more cpus than this machine has, naming the field and the limit', async () => {
    const tooMany = await config('too-many', ['instances:', `  - cpus: ${cpus().length + 1}`, 'jobs:', '  - run_command: "true"']);
    const result = await katapult(['validate', tooMany], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `too-many.yaml:2:5 instances[0].cpus: ${cpus().length + 1} exceeds the ${cpus().length} cpus this machine's Docker can give a container (local provider)`,
    );
  });
});
