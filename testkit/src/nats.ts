import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { startProcess, type ManagedProcess } from './managed-process.js';
import { portOpen } from './port-open.js';
import { tempDir } from './temp-dir.js';

export interface NatsServer {
  /** nats://127.0.0.1:PORT */
  url: string;
  port: number;
  /** JetStream store directory; kept across restart(), removed by stop(). */
  storeDir: string;
  /** Stops the server for good and removes its store directory. */
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same port and store directory. */
  restart(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open and nothing is answered, as on a stalled server. */
  pause(): void;
  /** Lets a paused server go on (SIGCONT). */
  resume(): void;
}

export interface StartNatsOptions {
  /** Enable JetStream (-js). Default true. */
  jetstream?: boolean;
  /**
   * The body of nats-server's `authorization` block, e.g. natsUsersConfig's users as the local stack writes them;
   * without it the server takes anonymous connections.
   */
  authorization?: string;
  /** JetStream's `max_file_store` (e.g. "64MB"): the store it reserves streams' max_bytes from. Default: 75 % of the free disk. */
  maxFileStore?: string;
}

export async function startNats(opts: StartNatsOptions = {}): Promise<NatsServer> {
  const jetstream = opts.jetstream ?? true;
  const port = await freePort();
  const storeDir = await tempDir('nats');
  const args = ['-a', '127.0.0.1', '-p', String(port), ...(jetstream ? ['-js', '-sd', storeDir] : [])];
  if (opts.authorization !== undefined || opts.maxFileStore !== undefined) {
    // Beside the store, so stop() removes it; command-line flags take precedence over the file.
    const config = join(storeDir, 'auth.conf');
    const lines = [
      ...(opts.authorization !== undefined ? [`authorization: {\n${opts.authorization}\n}`] : []),
      ...(opts.maxFileStore !== undefined ? [`jetstream: { max_file_store: ${opts.maxFileStore} }`] : []),
    ];
    await writeFile(config, `${lines.join('\n')}\n`, { mode: 0o600 });
    args.push('-c', config);
  }

  const launch = async (): Promise<ManagedProcess> => {
    const proc = startProcess('nats-server', args);
    try {
      await proc.waitReady(() => portOpen(port), `nats-server on 127.0.0.1:${port}`);
    } catch (error) {
      await proc.stop();
      throw error;
    }
    return proc;
  };

  let current = await launch().catch(async (error: unknown) => {
    await rm(storeDir, { recursive: true, force: true });
    throw error;
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop() {
      await current.stop();
      await rm(storeDir, { recursive: true, force: true });
    },
    async restart() {
      await current.stop();
      current = await launch();
    },
    pause() {
      process.kill(current.pid, 'SIGSTOP');
    },
    resume() {
      process.kill(current.pid, 'SIGCONT');
    },
  };
}
