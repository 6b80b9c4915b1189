import { spawn } from 'node:child_process';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';

export interface NatsProcess {
  pid: number;
  /** Resolves with how nats-server ended: its exit code, or the signal that killed it. */
  readonly exited: Promise<string>;
  /** Asks nats-server to shut down and waits for it (killing it after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** Starts nats-server with this configuration; its output goes to ours, so to the container's log. */
export function spawnNatsServer(binary: string, configFile: string): NatsProcess {
  const child = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(`could not start (${error.message})`));
    child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`));
  });
  return {
    pid: child.pid ?? -1,
    exited,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Waits until nats-server takes a client's connection, as the coordinator will make it (a bare TCP probe would
 * make it log a TLS handshake error); rejects if it ends first or takes longer than `timeoutMs`.
 */
export async function waitForNats(nats: NatsProcess, options: NodeConnectionOptions, timeoutMs: number): Promise<void> {
  let ended: string | undefined;
  void nats.exited.then((how) => {
    ended = how;
  });
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (ended !== undefined) throw new Error(`nats-server ended before accepting connections (${ended})`);
    try {
      const nc = await connect({ ...options, timeout: 1_000, reconnect: false });
      await nc.close();
      return;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) throw new Error(`nats-server did not accept a connection within ${timeoutMs / 1000} s: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
