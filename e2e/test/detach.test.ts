import { spawn } from 'node:child_process';
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

  it('leaves the run going, and status and logs -f pick it up', async () => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'cli', 'bin', 'run.js'), 'launch', 'examples/hello/katapult.yaml'], {
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

    const follow = await katapult(['logs', 'count-2', '--follow', '--run', runId!], env);
    expect(follow.stdout).toBe('tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n');
    await waitFor(
      async () => {
        const status = await katapult(['status', runId!, '--json'], env);
        return (JSON.parse(status.stdout) as RunView[])[0]?.state === 'failed';
      },
      { what: 'the run to finish', timeoutMs: 60_000 },
    );
    const [run] = JSON.parse((await katapult(['status', runId!, '--json'], env)).stdout) as RunView[];
    expect(run!.jobs.filter((job) => job.state === 'done').map((job) => job.id).sort()).toEqual(['count-1', 'count-2', 'greet', 'stderr']);
  });
});
