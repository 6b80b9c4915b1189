import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logMessages, requireDocker, tempDir, waitFor } from '@katapult/testkit';
import { katapult } from './cli.js';

const exec = promisify(execFile);

/**
 * The state folder on its own small disk (a tmpfs, mounted as root), filled: commands say so in one line naming
 * the folder and its free space, doctor fails its free-space check, and once space is freed the stack resumes
 * by itself (the coordinator restarts a nats-server that the full disk wedged), with no `katapult down`.
 */
describe('a full disk under the state folder', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let config: string;
  let mounted = false;
  const filler = () => join(home, 'filler');
  const chatty = () => join(config.slice(0, config.lastIndexOf('/')), 'chatty.yaml');

  beforeAll(async () => {
    await requireDocker();
    home = await tempDir('e2e-disk');
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=512m', 'tmpfs', home]);
    mounted = true;
    env = { KATAPULT_HOME: home };
    const project = await tempDir('e2e-disk-project');
    config = join(project, 'katapult.yaml');
    await writeFile(config, 'project: disk\ninstances:\n  - number: 1\n    cpus: 2\njobs:\n  - name: hello\n    run_command: echo hello\n');
    // Prints 100 kB a second, so JetStream writes while the disk is full (a heartbeat's few bytes may still fit a page).
    await writeFile(
      chatty(),
      'project: disk\ninstances:\n  - number: 1\n    cpus: 2\njobs:\n  - name: chatty\n    run_command: for i in $(seq 1 40); do head -c 75000 /dev/zero | base64 -w 0; echo; sleep 1; done\n',
    );
  });
  afterAll(async () => {
    if (env) await rm(filler(), { force: true }).then(() => katapult(['down'], env));
    if (mounted) await exec('umount', ['-l', home]).catch(() => undefined);
  });

  it('says which folder is full and how much is free, then recovers once space is freed', async () => {
    const first = await katapult(['launch', config, '--wait'], env);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    // JetStream's store size is fixed when the stack is set up, so the restart below loads every stream's budget.
    const storeBytes = Number(readFileSync(join(home, 'nats', 'max-file-store'), 'utf8'));
    expect(storeBytes).toBeGreaterThan(0);
    expect(storeBytes).toBeLessThanOrEqual(0.75 * 512 * 1024 * 1024);
    expect(readFileSync(join(home, 'nats.conf'), 'utf8')).toContain(`max_file_store: ${storeBytes}`);

    const going = await katapult(['launch', chatty(), '--detach'], env);
    expect(going.code, going.stdout + going.stderr).toBe(0);
    await waitFor(async () => (await katapult(['logs', 'chatty'], env)).stdout.length > 100_000, {
      timeoutMs: 120_000,
      intervalMs: 1_000,
      what: 'chatty printing',
    });
    // dd stops at the first write the disk refuses: nothing is left.
    await exec('dd', ['if=/dev/zero', `of=${filler()}`, 'bs=1M']).catch(() => undefined);
    const status = await katapult(['status'], env);
    expect(status.code).toBe(3);
    const line = status.stderr.trim().split('\n')[0]!;
    expect(line).toMatch(
      new RegExp(
        `^KP_DISK_FULL ${home.replace(/[/.]/g, '\\$&')}(/nats|/registry)? has [\\d.]+ k?B free; the stack needs at least 67\\.1 MB there to store its state`,
      ),
    );
    const launch = await katapult(['launch', config, '--detach'], env);
    expect(launch.code).toBe(3);
    expect(launch.stderr).toMatch(/^KP_DISK_FULL /);
    const doctor = JSON.parse((await katapult(['doctor', '--json'], env)).stdout) as {
      checks: { name: string; status: string; detail: string }[];
    };
    expect(doctor.checks.find((check) => check.name === 'free space')).toMatchObject({ status: 'fail' });
    // The coordinator checks every 5 s: space freed before it looked would leave it nothing to say. Its log is on
    // the full disk (written once there is room again, checked below): /health says it meanwhile.
    const { coordinator } = JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8')) as { coordinator: { port: number } };
    const health = async () => (await (await fetch(`http://127.0.0.1:${coordinator.port}/health`)).json()) as { diskFull?: string };
    await waitFor(async () => /^KP_DISK_FULL .* has [\d.]+ k?B free/.test((await health()).diskFull ?? ''), {
      timeoutMs: 60_000,
      what: 'the coordinator to notice the full disk',
    });

    await rm(filler());
    const freedAt = Date.now();
    // By itself: no down, no restart by hand. The coordinator notices the space back and a wedged JetStream.
    // `logs` reads JetStream itself (status may answer from the coordinator's memory).
    await waitFor(async () => (await katapult(['logs', 'hello'], env)).code === 0, {
      timeoutMs: 180_000,
      intervalMs: 2_000,
      what: 'JetStream answering again',
    });
    const recoveredMs = Date.now() - freedAt;
    const watchdog = logMessages({ file: join(home, 'logs', 'coordinator.log') })
      .split('\n')
      .filter((entry) => /KP_DISK_FULL|free space is back|nats-server|watch of|tick failed/.test(entry));
    console.log(
      `JetStream answered ${(recoveredMs / 1000).toFixed(1)} s after space was freed; the coordinator said:\n${watchdog.join('\n')}`,
    );
    const again = await katapult(['launch', config, '--wait'], env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect((await katapult(['logs', 'hello'], env)).stdout).toBe('hello\n');
    const coordinatorLog = logMessages({ file: join(home, 'logs', 'coordinator.log') });
    expect(coordinatorLog).toMatch(/KP_DISK_FULL .* has [\d.]+ k?B free/);
    // JetStream wrote on the full disk: nats-server 2.9 deadlocked there, and was restarted (down was never needed).
    expect(coordinatorLog).toMatch(/JetStream has not answered for 3 checks: restarting it/);
  }, 900_000);
});
