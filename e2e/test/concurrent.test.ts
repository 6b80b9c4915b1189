import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '@katapult/core';
import { requireDocker, tempDir } from '@katapult/testkit';
import { katapult } from './cli.js';

/** Commands run side by side on one state folder: the stack is started once, and no command reads a half-written file. */
describe('concurrent launches', () => {
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await requireDocker();
    env = { KATAPULT_HOME: await tempDir('e2e-concurrent') };
  });
  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it('20 launches --detach at once on a stack not yet started all submit their run, to one coordinator', async () => {
    const project = await tempDir('e2e-concurrent-project');
    const configs = await Promise.all(
      Array.from({ length: 20 }, async (_, index) => {
        const file = join(project, `c${index}.yaml`);
        await writeFile(
          file,
          [
            'project: concurrent',
            'instances: [{ number: 1, cpus: 1 }]',
            'jobs:',
            `  - name: job-${index}`,
            `    run_command: echo ${index}`,
            '',
          ].join('\n'),
        );
        return file;
      }),
    );
    const launches = await Promise.all(configs.map((file) => katapult(['launch', file, '--detach', '--json'], env)));
    for (const launch of launches)
      expect({ code: launch.code, error: launch.code === 0 ? undefined : `${launch.stdout}${launch.stderr}` }).toEqual({
        code: 0,
        error: undefined,
      });
    const submitted = launches.map((launch) => (JSON.parse(launch.stdout) as { runId: string }).runId).sort();
    expect(new Set(submitted).size).toBe(20);

    const status = await katapult(['status', '--all', '--json'], env);
    expect((JSON.parse(status.stdout) as RunView[]).map((run) => run.id).sort()).toEqual(submitted);
    const down = await katapult(['down'], env);
    expect(down.stdout.match(/^stopped coordinator$/gm)).toHaveLength(1);
  }, 900_000);
});
