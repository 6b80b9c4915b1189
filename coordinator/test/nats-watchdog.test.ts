import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '@katapult/testkit';
import { NatsWatchdog } from '../src/nats-watchdog.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * The watchdog on stand-ins: a `sleep` for the wedged nats-server (alive, JetStream silent), /bin/sh for its
 * binary (its "config" a command that writes its pid file as nats-server would), and free space as given.
 */
describe('nats watchdog', () => {
  it('reports a full disk once, and restarts a server that is alive but silent once space is back', async () => {
    const dir = await tempDir('watchdog');
    const pidFile = join(dir, 'nats.pid');
    const wedged = spawn('sleep', ['600'], { stdio: 'ignore' });
    writeFileSync(pidFile, `${wedged.pid}\n`);
    let free = 1_000;
    const lines: string[] = [];
    const watchdog = new NatsWatchdog({
      server: {
        binary: '/bin/sh',
        config: `echo $$ > ${pidFile}; exec sleep 600`,
        pidFile,
        logFile: join(dir, 'nats.log'),
        folders: [dir],
      },
      minFreeBytes: 64 * 1024 * 1024,
      jetStreamAnswers: async () => false,
      freeBytes: () => free,
      log: (line) => lines.push(line),
    });
    await watchdog.check();
    await watchdog.check();
    expect(lines).toEqual([
      `KP_DISK_FULL ${dir} has 1.0 kB free; the stack needs at least 67.1 MB there to store its state; JetStream may stop answering until space is freed`,
    ]);
    expect(watchdog.diskFull()).toBe(lines[0]);
    expect(alive(wedged.pid!)).toBe(true);

    free = 10 * 1024 * 1024 * 1024;
    for (let i = 0; i < 3; i++) await watchdog.check();
    expect(watchdog.diskFull()).toBeUndefined();
    expect(lines.slice(1, 3)).toEqual([
      'free space is back where the stack keeps its state',
      `nats-server (pid ${wedged.pid}) is running but JetStream has not answered for 3 checks: restarting it`,
    ]);
    await waitFor(() => !alive(wedged.pid!) || wedged.exitCode !== null || wedged.signalCode === 'SIGKILL', {
      what: 'the wedged server killed',
    });
    const restarted = await waitFor(
      () => {
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        return pid !== wedged.pid && alive(pid) ? pid : undefined;
      },
      { what: 'the server started again' },
    );
    expect(lines[3]).toMatch(/^nats-server started again \(pid \d+\)$/);
    process.kill(restarted, 'SIGKILL');
  });

  it('leaves a server that is down to the CLI, and one that answers alone', async () => {
    const dir = await tempDir('watchdog-down');
    const pidFile = join(dir, 'nats.pid');
    writeFileSync(pidFile, '999999\n');
    let answers = false;
    const lines: string[] = [];
    const watchdog = new NatsWatchdog({
      server: { binary: '/bin/false', config: 'x', pidFile, logFile: join(dir, 'nats.log'), folders: [dir] },
      minFreeBytes: 1,
      jetStreamAnswers: async () => answers,
      log: (line) => lines.push(line),
    });
    for (let i = 0; i < 4; i++) await watchdog.check();
    answers = true;
    for (let i = 0; i < 4; i++) await watchdog.check();
    expect(lines).toEqual([]);
  });
});
