import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '@katapult/core';
import { requireDocker, tempDir, waitFor } from '@katapult/testkit';
import { katapult, REPO_ROOT } from './cli.js';

/** Interrupting `launch` stops following, not the run: status and logs reattach to it. */
describe('Ctrl-C during launch', () => {
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await requireDocker();
    env = { KATAPULT_HOME: await tempDir('e2e-detach') };
  });
  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  /** Starts an attached `launch` and presses Ctrl-C once the run is submitted. */
  async function launchThenInterrupt(config: string): Promise<string> {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'cli', 'bin', 'run.js'), 'launch', config], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor(() => /submitted/.test(stdout), { what: 'the run to be submitted', timeoutMs: 300_000 });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const runId = /run (r-[0-9a-z-]+) submitted/.exec(stdout)?.[1];
    expect(stderr).toContain(`detached from run ${runId}; it goes on`);
    return runId!;
  }

  it('leaves the run going, and status and logs -f pick it up', async () => {
    const runId = await launchThenInterrupt('examples/hello/katapult.yaml');

    const follow = await katapult(['logs', 'count-2', '--follow', '--run', runId], env);
    expect(follow.stdout).toBe('tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n');
    await waitFor(
      async () => {
        const status = await katapult(['status', runId, '--json'], env);
        return (JSON.parse(status.stdout) as RunView[])[0]?.state === 'done';
      },
      { what: 'the run to finish', timeoutMs: 60_000 },
    );
    const [run] = JSON.parse((await katapult(['status', runId, '--json'], env)).stdout) as RunView[];
    expect(
      run!.jobs
        .filter((job) => job.state === 'done')
        .map((job) => job.id)
        .sort(),
    ).toEqual(['count-1', 'count-2', 'greet', 'stderr']);
  }, 600_000);

  it('launching the same config again follows the run still going instead of starting it twice (recover)', async () => {
    const project = await tempDir('e2e-detach-project');
    const config = join(project, 'slow.yaml');
    await writeFile(config, 'project: slow\njobs:\n  - name: slow\n    run_command: "sleep 6; echo slow done"\n');
    const runId = await launchThenInterrupt(config);
    const again = await katapult(['launch', config], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`run ${runId} is already going for this config (recover: true)`);
    expect(again.stdout).toMatch(/^slow +default +local-[0-9a-f]{8}-\d-[0-9a-f]{4} +slow\/[0-9a-f]{8} +done +1 +0 /m);
    const runs = JSON.parse((await katapult(['status', '--all', '--json'], env)).stdout) as RunView[];
    expect(runs.filter((run) => run.project === 'slow').map((run) => run.id)).toEqual([runId]);
  }, 600_000);
});
