import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker, tempDir } from '@katapult/testkit';
import { katapult } from './cli.js';

const localTags = async (prefix: string) =>
  (await promisify(execFile)('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout
    .split('\n')
    .filter((tag) => tag.startsWith(prefix));
const registryPort = async (home: string) =>
  (JSON.parse(await readFile(join(home, 'stack.json'), 'utf8')) as { registry: { port: number } }).registry.port;
/** Processes still running a history nats-server (its config lives in a katapult-history-* temp folder). */
const historyServers = async () =>
  (await promisify(execFile)('ps', ['-eo', 'args'])).stdout
    .split('\n')
    .filter((line) => line.includes('nats-server') && line.includes('katapult-history-'));

/** After `down` the runs are still on disk: status, logs and fetch read them; the registry keeps its port. */
describe('history after down, and a stable registry address', () => {
  let env: NodeJS.ProcessEnv;
  let home: string;
  let project: string;
  let config: string;

  beforeAll(async () => {
    await requireDocker();
    home = await tempDir('e2e-history');
    env = { KATAPULT_HOME: home };
    project = await tempDir('e2e-history-project');
    config = join(project, 'hist.yaml');
    await writeFile(
      config,
      [
        'project: hist',
        'instances: [{ number: 1, cpus: 1 }]',
        'jobs:',
        '  - name: one',
        '    run_command: echo hello; echo out > result.txt',
        '    output_files: result.txt',
        '  - name: two',
        '    run_command: echo bye >&2; exit 4',
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  let port: number;
  it('status, logs and fetch of a finished run work after down, saying they read the kept history', async () => {
    expect((await katapult(['launch', config, '--wait'], env)).code).toBe(1);
    port = await registryPort(home);
    const before = await katapult(['status'], env);
    expect((await katapult(['down'], env)).code).toBe(0);

    const status = await katapult(['status'], env);
    expect(status.stderr).toBe(
      `no stack is running: reading the runs kept in ${home}/nats (a nats-server started for this command, stopped after it)\n`,
    );
    expect(status.code).toBe(0);
    expect(status.stdout).toBe(before.stdout);
    expect(status.stdout).toMatch(/^run r-\S+ \(hist, .*hist\.yaml\): failed — 1 done, 1 failed\n/);

    const logs = await katapult(['logs'], env);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe('one | hello\ntwo | bye\n');
    const out = join(project, 'results');
    const fetched = await katapult(['fetch', '--out', out], env);
    expect(fetched.code).toBe(0);
    const [run] = JSON.parse((await katapult(['status', '--json'], env)).stdout) as { id: string }[];
    expect(await readFile(join(out, run!.id, 'one', 'result.txt'), 'utf8')).toBe('out\n');
    expect(await historyServers()).toEqual([]);
  }, 900_000);

  it('a new stack in the same state folder gets the same registry port; down --images removes its local tags', async () => {
    expect((await katapult(['launch', config, '--wait'], env)).code).toBe(1);
    expect(await registryPort(home)).toBe(port);
    const prefix = `127.0.0.1:${port}/katapult/`;
    const tags = await localTags(prefix);
    expect(tags.length).toBeGreaterThan(0);
    const down = await katapult(['down', '--images'], env);
    expect(down.code).toBe(0);
    for (const tag of tags) expect(down.stdout).toContain(`removed image tag ${tag}\n`);
    expect(await localTags(prefix)).toEqual([]);
  }, 900_000);
});
