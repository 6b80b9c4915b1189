import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait-for.js';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

// A test run that crashes or forgets stop() must not leave servers behind holding ports.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export interface ManagedProcess {
  readonly pid: number;
  /** The last lines the process wrote to stdout/stderr, for error messages. */
  output(): string;
  /** Resolves once `ready` returns true; rejects if the process exits first or time runs out. */
  waitReady(ready: () => Promise<boolean>, what: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartProcessOptions {
  /** Give the process a stdin pipe that stays open while this process lives (it sees end-of-file when we die). */
  stdinPipe?: boolean;
}

export function startProcess(command: string, args: readonly string[], options: StartProcessOptions = {}): ManagedProcess {
  installExitHook();
  const child = spawn(command, args, { stdio: [options.stdinPipe ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  live.add(child);
  const lines: string[] = [];
  // Always drain the pipes: a full pipe buffer would block the server.
  const collect = (chunk: Buffer): void => {
    lines.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l.length > 0),
    );
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      spawnError = error;
      live.delete(child);
      resolve();
    });
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
  });
  const hasExited = (): boolean => spawnError !== undefined || child.exitCode !== null || child.signalCode !== null;
  const output = (): string => lines.join('\n');

  return {
    pid: child.pid ?? -1,
    output,
    async waitReady(ready, what, timeoutMs = 15_000) {
      const died = exited.then(() => {
        const why = spawnError ? spawnError.message : `exit code ${child.exitCode ?? child.signalCode}`;
        throw new Error(`${command} exited before ${what} was ready (${why}); output:\n${output()}`);
      });
      const up = waitFor(async () => !hasExited() && (await ready()), { what, timeoutMs });
      try {
        await Promise.race([up, died]);
      } finally {
        died.catch(() => undefined);
        up.catch(() => undefined);
      }
    },
    async stop(graceMs = 5_000) {
      if (hasExited()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
