import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '@katapult/core';
import { requireDocker, tempDir } from '@katapult/testkit';
import { katapult, REPO_ROOT, type CliResult } from './cli.js';

/**
 * The walking skeleton, end to end on the real thing: the CLI starts nats-server, the registry and the
 * coordinator, builds the images, boots two agent containers, and runs examples/hello on them.
 */
describe('examples/hello on the local default', () => {
  let env: NodeJS.ProcessEnv;
  let home: string;
  let launch: CliResult;
  let failing: CliResult;

  beforeAll(async () => {
    await requireDocker();
    home = await tempDir('e2e-hello');
    env = { KATAPULT_HOME: home };
    // The examples as they are, with their instances kept up (auto_stop: false): the checks below read the agents
    // that ran them, which the default auto_stop would stop 60 s after each run, sooner than a loaded machine gets
    // there. The copies keep the examples' paths, run from a folder of their own.
    const project = await tempDir('e2e-hello-project');
    for (const example of ['hello', 'failing']) {
      await mkdir(join(project, 'examples', example), { recursive: true });
      const text = await readFile(join(REPO_ROOT, 'examples', example, 'katapult.yaml'), 'utf8');
      await writeFile(join(project, 'examples', example, 'katapult.yaml'), `${text}auto_stop: false\n`);
    }
    launch = await katapult(['launch', 'examples/hello/katapult.yaml'], env, undefined, project);
    failing = await katapult(['launch', 'examples/failing/katapult.yaml'], env, undefined, project);
  });

  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it('pnpm example (examples/hello) follows the run to the end and exits 0', () => {
    expect(launch.stderr).toBe('');
    expect(launch.code).toBe(0);
    expect(launch.stdout).toMatch(/run r-[0-9a-z-]+ submitted: 4 jobs on 2 instances/);
    expect(launch.stdout).toMatch(/^run r-[0-9a-z-]+ \(hello, examples\/hello\/katapult.yaml\): done — 4 done$/m);
  });

  it('examples/failing exits 1 because one job fails on purpose, and says where its output is', () => {
    expect(failing.stderr).toBe('');
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/run r-[0-9a-z-]+ submitted: 2 jobs on 1 instance\n/);
    expect(failing.stdout).toMatch(/broken failed on local-[0-9a-f]{8}-\d-[0-9a-f]{4} \(exit 3\)/);
    expect(failing.stdout).toMatch(/^broken +base +local-[0-9a-f]{8}-\d-[0-9a-f]{4} +failing\/[0-9a-f]{8} +failed +1 +3 /m);
    expect(failing.stdout).toContain('broken: failed with exit code 3; see: katapult logs broken');
  });

  it('status --json shows every job in its final state with its exit code', async () => {
    const status = await katapult(['status', '--json'], env);
    expect(status.code).toBe(0);
    const [latest] = JSON.parse(status.stdout) as RunView[];
    expect(latest?.state).toBe('failed');
    expect(Object.fromEntries(latest!.jobs.map((job) => [job.id, [job.state, job.exitCode]]))).toEqual({
      fine: ['done', 0],
      broken: ['failed', 3],
    });
    const run = (JSON.parse((await katapult(['status', '--all', '--json'], env)).stdout) as RunView[]).find(
      (one) => one.project === 'hello',
    );
    expect(run?.state).toBe('done');
    const states = Object.fromEntries(run!.jobs.map((job) => [job.id, [job.state, job.exitCode]]));
    expect(states).toEqual({
      greet: ['done', 0],
      'count-1': ['done', 0],
      'count-2': ['done', 0],
      stderr: ['done', 0],
    });
    const agents = new Set(run!.jobs.map((job) => job.agentId));
    for (const agent of agents) expect(agent).toMatch(/^local-[0-9a-f]{8}-[01]-[0-9a-f]{4}$/);
  });

  it('status prints a table', async () => {
    const [run] = JSON.parse((await katapult(['status', '--all', '--json'], env)).stdout) as RunView[];
    const status = await katapult(['status', run!.id], env);
    expect(status.stdout).toMatch(/^JOB +ENV +AGENT +POOL +STATE +ATTEMPT +EXIT +DURATION$/m);
    expect(status.stdout).toMatch(/^count-2 +base +local-[0-9a-f]{8}-\d-[0-9a-f]{4} +hello\/[0-9a-f]{8} +done +1 +0 +\d+\.\ds$/m);
  });

  it("logs replays a finished job's whole output, stdout and stderr apart", async () => {
    const broken = await katapult(['logs', 'broken'], env);
    expect(broken.code).toBe(0);
    expect(broken.stdout).toBe('about to fail\n');
    expect(broken.stderr).toBe('something went wrong\n');
    const count = await katapult(['logs', 'count-1', '--follow'], env);
    expect(count.stdout).toBe('tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n');
  });

  it('logs of a job that does not exist is bad input', async () => {
    const missing = await katapult(['logs', 'nope'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('KP_RUN_NOT_FOUND no run has a job named "nope" (katapult status lists the runs)');
  });

  it("the coordinator's API answers only with the stack's token, which no output, log or agent holds", async () => {
    const tokenFile = join(home, 'api-token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    const stack = JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8')) as { label: string; coordinator: { port: number } };
    const api = `http://127.0.0.1:${stack.coordinator.port}`;
    const statusOf = async (path: string, authorization?: string) =>
      (await fetch(`${api}${path}`, authorization ? { headers: { authorization } } : {})).status;
    expect(await statusOf('/runs')).toBe(401);
    expect(await statusOf('/runs', `Bearer ${'0'.repeat(64)}`)).toBe(401);
    expect(await statusOf('/runs', `Bearer ${token}`)).toBe(200);
    expect(await statusOf('/health')).toBe(200);

    const status = await katapult(['status', '--json'], env);
    const logs = readdirSync(join(home, 'logs'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'utf8'));
    const agents = await new Docker().listContainers({
      all: true,
      filters: { label: [`katapult.stack=${stack.label}`, 'katapult.role=agent'] },
    });
    const agentEnv = await Promise.all(
      agents.map(async (agent) => (await new Docker().getContainer(agent.Id).inspect()).Config.Env.join('\n')),
    );
    expect(logs.length).toBeGreaterThan(0);
    expect(agentEnv.length).toBe(3);
    for (const text of [
      launch.stdout,
      launch.stderr,
      failing.stdout,
      status.stdout,
      status.stderr,
      readFileSync(join(home, 'stack.json'), 'utf8'),
      ...logs,
      ...agentEnv,
    ]) {
      expect(text.includes(token)).toBe(false);
    }

    // A CLI holding another token is told so, on one line naming neither.
    const other = '1'.repeat(64);
    writeFileSync(tokenFile, `${other}\n`);
    try {
      const refused = await katapult(['status'], env);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(
        /^KP_API_UNAUTHORIZED the coordinator at http:\/\/127\.0\.0\.1:\d+ refused this stack's API token \(.*katapult down.*\)\n$/,
      );
      expect(refused.stderr.includes(token) || refused.stderr.includes(other)).toBe(false);
    } finally {
      writeFileSync(tokenFile, `${token}\n`);
    }
  });

  it('down removes every Katapult container and stops the servers', async () => {
    const stack = JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8')) as { label: string; nats: { pid: number } };
    const down = await katapult(['down'], env);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/removed container kp-[a-z0-9]+-[0-9a-f]{8}-0/);
    expect(down.stdout).toContain('stopped nats-server');
    const left = await new Docker().listContainers({ all: true, filters: { label: [`katapult.stack=${stack.label}`] } });
    expect(left).toEqual([]);
    expect(() => process.kill(stack.nats.pid, 0)).toThrow();
    expect(existsSync(join(home, 'api-token'))).toBe(false);
    // The history stays: status reads it without the stack, and says so.
    const status = await katapult(['status'], env);
    expect(status.code).toBe(0);
    expect(status.stderr).toBe(
      `no stack is running: reading the runs kept in ${home}/nats (a nats-server started for this command, stopped after it)\n`,
    );
    expect(status.stdout).toMatch(/^run r-[0-9a-z-]+ \(failing, examples\/failing\/katapult.yaml\): failed — 1 done, 1 failed$/m);
  });
});

describe('bad input and a missing Docker engine', () => {
  it('a broken config exits 2 with one line naming the file, field and problem', async () => {
    const home = await tempDir('e2e-bad');
    const result = await katapult(['launch', 'core/test/fixtures/config/unknown-key.yaml'], { KATAPULT_HOME: home });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'KP_CONFIG_INVALID core/test/fixtures/config/unknown-key.yaml:4:5 jobs[0].evn_name: unknown key, did you mean env_name?\n',
    );
  });

  it('validate accepts the example and names a missing file', async () => {
    const ok = await katapult(['validate', 'examples/hello/katapult.yaml'], {});
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('examples/hello/katapult.yaml is valid: 4 jobs, 2 instances, 1 environment\n');
    const missing = await katapult(['validate', 'nowhere.yaml'], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('KP_CONFIG_NOT_FOUND nowhere.yaml: no such file\n');
  });

  it('an unreachable Docker engine is an infrastructure error that says how to fix it', async () => {
    const home = await tempDir('e2e-nodocker');
    const result = await katapult(['launch', 'examples/hello/katapult.yaml'], {
      KATAPULT_HOME: home,
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^KP_DOCKER_UNREACHABLE cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker.sock.*dockerd/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});
