import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '@katapult/core';
import { requireDocker, tempDir } from '@katapult/testkit';
import { katapult } from './cli.js';

/** What a job container gets on a local agent: a work folder of its own, and a process count shared with its agent. */
describe('job limits', () => {
  const docker = new Docker();
  let env: NodeJS.ProcessEnv;
  let config: string;

  beforeAll(async () => {
    await requireDocker();
    env = { KATAPULT_HOME: await tempDir('e2e-limits') };
    const project = await tempDir('e2e-limits-project');
    config = join(project, 'katapult.yaml');
    await writeFile(
      config,
      [
        'project: limits',
        'instances:',
        '  - number: 1',
        '    cpus: 1',
        'jobs:',
        '  - name: inspect',
        `    run_command: "stat -c '%a %U' /work; grep pids /proc/self/cgroup | cut -d: -f3"`,
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it('/work belongs to the job user only; the job runs under its agent container, whose pids limit caps them together', async () => {
    const launch = await katapult(['launch', config, '--wait'], env);
    expect(launch.code, launch.stdout + launch.stderr).toBe(0);
    const [run] = JSON.parse((await katapult(['status', '--json'], env)).stdout) as RunView[];
    const agentId = run!.jobs[0]!.agentId!;
    const [agent] = await docker.listContainers({ filters: { label: [`katapult.agent=${agentId}`, 'katapult.role=agent'] } });
    expect((await docker.getContainer(agent!.Id).inspect()).HostConfig.PidsLimit).toBe(8192);
    const [mode, cgroup] = (await katapult(['logs', 'inspect'], env)).stdout.trim().split('\n');
    expect(mode).toBe('700 katapult');
    expect(cgroup).toMatch(new RegExp(`^/docker/${agent!.Id}/[0-9a-f]{64}$`));
  }, 600_000);
});
