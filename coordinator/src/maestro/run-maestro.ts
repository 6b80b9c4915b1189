import { existsSync, mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { KatapultError, storeSizeAtStart, type Log } from '@katapult/core';
import type { FastifyBaseLogger } from 'fastify';
import { coordinatorNatsOptions, startCoordinator, type RunningCoordinator } from '../start.js';
import { maestroCoordinatorConfig, maestroNatsConfig, maestroNatsUsers } from './config.js';
import { spawnNatsServer, waitForNats, type NatsProcess } from './nats-process.js';
import { readMaestroSettings } from './settings.js';
import { readIssuedAgents, readMaestroState } from './state.js';

const NATS_START_MS = 30_000;
const STOP_MS = 5_000;

const describe = (error: unknown) =>
  error instanceof KatapultError ? error.toLine() : error instanceof Error ? error.message : String(error);

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);

/**
 * The maestro container's one process: nats-server as a child, the coordinator in-process. Either one ending
 * ends the container with a non-zero code, for its restart policy to start both again; SIGTERM stops both
 * (the coordinator first, as it drains its NATS connection) and exits 0.
 */
export async function runMaestro(env: NodeJS.ProcessEnv, log: Log, logger?: FastifyBaseLogger): Promise<void> {
  let nats: NatsProcess | undefined;
  let coordinator: RunningCoordinator | undefined;
  let stopping = false;

  // Whichever path stops first owns the exit code: nats-server ending during a SIGTERM stop is no failure.
  const fail = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`${why}; stopping`, { level: 'error' });
    await within(coordinator?.stop() ?? Promise.resolve(), STOP_MS).catch(() => undefined);
    await nats?.stop(STOP_MS);
    process.exit(1);
  };
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping the coordinator and nats-server`);
    await within(coordinator?.stop() ?? Promise.resolve(), STOP_MS).catch((error: unknown) =>
      log(`stopping the coordinator: ${describe(error)}`),
    );
    await nats?.stop(STOP_MS);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  process.on('uncaughtException', (error) => void fail(`uncaught: ${describe(error)}`));
  process.on('unhandledRejection', (error) => void fail(`unhandled: ${describe(error)}`));

  try {
    const settings = readMaestroSettings(env);
    const { files } = settings;
    const state = readMaestroState(files);
    mkdirSync(files.natsStore, { recursive: true, mode: 0o700 });
    const storeBytes = keepStoreSize(files.natsMaxFileStore, files.natsStore);
    writeFileSync(files.natsConfig, maestroNatsConfig(settings, storeBytes), { mode: 0o600 });
    writeFileSync(files.natsUsers, maestroNatsUsers(settings, state.admin, readIssuedAgents(files.natsAgents)), { mode: 0o600 });

    const started = spawnNatsServer(env['KATAPULT_NATS_SERVER'] || 'nats-server', files.natsConfig);
    nats = started;
    void started.exited.then((how) => fail(`nats-server ended (${how})`));
    const config = maestroCoordinatorConfig(settings, state, storeBytes);
    await waitForNats(started, coordinatorNatsOptions(config), NATS_START_MS);
    if (stopping) return;

    const running = await startCoordinator(config, log, logger ? { logger } : {});
    coordinator = running;
    // Reconnects never give up, so a closed connection means the coordinator cannot go on.
    void running.nc.closed().then((error) => {
      if (!stopping) void fail(`the coordinator's NATS connection closed${error ? `: ${describe(error)}` : ''}`);
    });
    log(
      `NATS on tls://${settings.listen}:${settings.natsPort}, API on ${running.url} (cluster ${settings.cluster}, certificate name ${settings.tlsName})`,
    );
  } catch (error) {
    await fail(describe(error));
  }
}

/** The JetStream store size kept in `file`, else three quarters of the disk free under `store` now, kept there. */
function keepStoreSize(file: string, store: string): number {
  const stats = statfsSync(store);
  const { bytes, keep } = storeSizeAtStart(existsSync(file) ? readFileSync(file, 'utf8') : undefined, stats.bavail * stats.bsize);
  if (keep !== undefined) writeFileSync(file, keep, { mode: 0o600 });
  return bytes;
}
