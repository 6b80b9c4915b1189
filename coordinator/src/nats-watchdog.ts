import { spawn } from 'node:child_process';
import { openSync, readFileSync, statfsSync, closeSync } from 'node:fs';
import { lowDiskMessage, type FolderSpace } from '@katapult/core';

/** What the watchdog is told of the local stack's nats-server, which the CLI started (KATAPULT_NATS_SERVER…). */
export interface NatsServerProcess {
  /** The nats-server binary and its config file: the same command the CLI started it with. */
  binary: string;
  config: string;
  /** nats-server writes its pid here (`pid_file`); a restarted one writes its own. */
  pidFile: string;
  logFile: string;
  /** Folders whose free space JetStream needs: the state folder and its store. */
  folders: readonly string[];
}

export interface NatsWatchdogOptions {
  server: NatsServerProcess;
  minFreeBytes: number;
  /** Resolves true when JetStream answers (an account info request), false after a short timeout. */
  jetStreamAnswers: () => Promise<boolean>;
  log: (line: string) => void;
  intervalMs?: number;
  /** Failed probes in a row, with the disk not full and the process alive, before it is restarted. */
  probesBeforeRestart?: number;
  /** Free space of a folder; statfs by default. */
  freeBytes?: (folder: string) => number;
}

/**
 * nats-server 2.9 deadlocks when a JetStream write fails for want of disk space: it then answers no JetStream
 * request and ignores SIGTERM, even once space is back, and the stack stays stuck until `katapult down`. The
 * watchdog says so in one line while the disk is full, and once it is not, kills the wedged server (SIGKILL, what
 * it still obeys) and starts it again with the same config (same port, same store: JetStream recovers its
 * streams from disk), so the stack resumes by itself. A server that is down is left to the CLI, which restarts
 * it on the next command as before; only one alive and not answering is restarted here.
 */
export class NatsWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private fullMessage: string | undefined;
  private checking = false;

  constructor(private readonly options: NatsWatchdogOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.options.intervalMs ?? 5_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** What the last check said of a full disk, while it is full: the log may sit on that disk and lose it. */
  diskFull(): string | undefined {
    return this.fullMessage;
  }

  /** The folder with the least space, when it has less than the stack needs. */
  lowSpace(): FolderSpace | undefined {
    const free = this.options.freeBytes ?? statfsFree;
    let tightest: FolderSpace | undefined;
    for (const folder of this.options.server.folders) {
      let freeBytes: number;
      try {
        freeBytes = free(folder);
      } catch {
        continue;
      }
      if (!tightest || freeBytes < tightest.freeBytes) tightest = { folder, freeBytes };
    }
    return tightest && tightest.freeBytes < this.options.minFreeBytes ? tightest : undefined;
  }

  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const low = this.lowSpace();
      if (low) {
        const message = `KP_DISK_FULL ${lowDiskMessage(low, this.options.minFreeBytes)}; JetStream may stop answering until space is freed`;
        if (this.fullMessage === undefined) this.options.log(message);
        this.fullMessage = message;
        this.failures = 0;
        return;
      }
      if (this.fullMessage !== undefined) this.options.log('free space is back where the stack keeps its state');
      this.fullMessage = undefined;
      if (await this.options.jetStreamAnswers()) {
        this.failures = 0;
        return;
      }
      const pid = this.serverPid();
      if (pid === undefined || !alive(pid)) {
        this.failures = 0;
        return;
      }
      this.failures += 1;
      if (this.failures < (this.options.probesBeforeRestart ?? 3)) return;
      this.failures = 0;
      this.options.log(
        `nats-server (pid ${pid}) is running but JetStream has not answered for ${this.options.probesBeforeRestart ?? 3} checks: restarting it`,
      );
      await this.restart(pid);
    } finally {
      this.checking = false;
    }
  }

  private serverPid(): number | undefined {
    try {
      const pid = Number(readFileSync(this.options.server.pidFile, 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private async restart(pid: number): Promise<void> {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
    for (let waited = 0; alive(pid) && waited < 10_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    const { binary, config, logFile } = this.options.server;
    const out = openSync(logFile, 'a');
    try {
      const child = spawn(binary, ['-c', config], { detached: true, stdio: ['ignore', out, out] });
      child.on('error', (error) => this.options.log(`nats-server could not be started again: ${error.message}`));
      child.unref();
      this.options.log(`nats-server started again (pid ${child.pid ?? '?'})`);
    } finally {
      closeSync(out);
    }
  }
}

function statfsFree(folder: string): number {
  const stats = statfsSync(folder);
  return stats.bavail * stats.bsize;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
