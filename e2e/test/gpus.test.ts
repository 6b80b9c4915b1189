import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentView, RunView } from '@katapult/core';
import { requireDocker, tempDir } from '@katapult/testkit';
import { katapult, type CliResult } from './cli.js';

/**
 * A GPU job on a local agent whose record claims a GPU (`gpus: 1` on the instance): the scheduler places it, the
 * agent asks Docker for an NVIDIA GPU, and a Docker without the NVIDIA runtime (this machine's, usually) refuses,
 * which the job's failure says in one line. On a machine with the runtime the job gets its GPU and is done.
 */
describe('a job asking for a GPU, on a local agent', () => {
  const docker = new Docker();
  let env: NodeJS.ProcessEnv;
  let launch: CliResult;
  let hasNvidiaRuntime: boolean;

  beforeAll(async () => {
    await requireDocker();
    hasNvidiaRuntime = Object.keys((await docker.info()).Runtimes ?? {}).includes('nvidia');
    env = { KATAPULT_HOME: await tempDir('e2e-gpus') };
    const project = await tempDir('e2e-gpus-project');
    const config = join(project, 'gpus.yaml');
    await writeFile(
      config,
      [
        'project: gpus',
        'instances: [{ number: 1, cpus: 2, gpus: 1 }]',
        'jobs:',
        '  - name: cuda',
        '    gpus_req: 1',
        '    run_command: echo on the gpu',
        '  - name: plain',
        '    run_command: echo on the cpu',
        '',
      ].join('\n'),
    );
    launch = await katapult(['launch', config, '--wait'], env);
  }, 600_000);
  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it("is placed on the agent offering the GPU and fails in one line when that agent's Docker has no NVIDIA runtime", async () => {
    const [run] = JSON.parse((await katapult(['status', '--json'], env)).stdout) as RunView[];
    const jobs = Object.fromEntries(run!.jobs.map((job) => [job.id, job]));
    expect(jobs['plain']).toMatchObject({ state: 'done', exitCode: 0 });
    if (hasNvidiaRuntime) {
      expect(jobs['cuda']).toMatchObject({ state: 'done', exitCode: 0 });
      return;
    }
    expect(launch.code).toBe(1);
    expect(jobs['cuda']).toMatchObject({
      state: 'failed',
      agentId: expect.stringMatching(/^local-[0-9a-f]{8}-0-/),
      message: "KP_NO_GPU_RUNTIME: job cuda asked for 1 GPU but this instance's Docker has no NVIDIA runtime",
    });
    expect(launch.stdout).toContain(
      "\ncuda: failed to start: KP_NO_GPU_RUNTIME: job cuda asked for 1 GPU but this instance's Docker has no NVIDIA runtime\n",
    );
  });

  it('the agent advertises the GPU the config gives its instance, and the API lists it', async () => {
    const home = env.KATAPULT_HOME!;
    const stack = JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8')) as { label: string; coordinator: { port: number } };
    const token = readFileSync(join(home, 'api-token'), 'utf8').trim();
    const response = await fetch(`http://127.0.0.1:${stack.coordinator.port}/agents`, { headers: { authorization: `Bearer ${token}` } });
    const agents = (await response.json()) as AgentView[];
    expect(agents).toEqual([expect.objectContaining({ instanceType: null, cpus: 2, usedCpus: 0, gpus: 1, usedGpus: 0 })]);
    const [container] = await docker.listContainers({ filters: { label: [`katapult.stack=${stack.label}`, 'katapult.role=agent'] } });
    expect((await docker.getContainer(container!.Id).inspect()).Config.Env).toContain('KATAPULT_GPUS=1');
  });
});
