import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireDocker, tempDir, waitFor } from '@katapult/testkit';
import { katapult, REPO_ROOT } from './cli.js';

/** `down` while the coordinator is still creating agents: none is left behind. */
describe('down during launch', () => {
  const docker = new Docker();
  let env: NodeJS.ProcessEnv;
  let home: string;

  beforeAll(async () => {
    await requireDocker();
    home = await tempDir('e2e-down');
    env = { KATAPULT_HOME: home };
  });

  it('stops the coordinator before removing containers, so an agent created during down does not survive it', async () => {
    const project = await tempDir('e2e-down-project');
    const file = join(project, 'katapult.yaml');
    await writeFile(
      file,
      ['project: down-midway', 'instances: [{ number: 6, cpus: 1 }]', 'jobs:', '  - run_command: sleep 60', '    repeat: 6', ''].join('\n'),
    );
    const launch = spawn(process.execPath, [join(REPO_ROOT, 'cli', 'bin', 'run.js'), 'launch', file], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => launch.on('exit', () => resolve()));
    const stackLabel = () => (JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8')) as { label: string }).label;
    let label = '';
    const containers = () => docker.listContainers({ all: true, filters: { label: [`katapult.stack=${label}`] } });
    await waitFor(
      async () => {
        try {
          label = stackLabel();
        } catch {
          return false;
        }
        return (await containers()).some((container) => container.Labels['katapult.role'] === 'agent');
      },
      { what: 'the first agent container', timeoutMs: 300_000 },
    );

    const down = await katapult(['down'], env);
    expect(down.code).toBe(0);
    expect(await containers()).toEqual([]);
    // The attached launch would retry the gone coordinator for a minute before giving up.
    launch.kill('SIGKILL');
    await exited;
  }, 420_000);
});
