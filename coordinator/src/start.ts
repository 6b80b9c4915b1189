import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  agentLeaseMs,
  clusterNames,
  COORDINATOR_ENV,
  decodeCoordinatorEnv,
  DEFAULT_MIN_FREE_BYTES,
  ExitCode,
  KatapultError,
  natsConnectionOptions,
  parseStreamBudget,
  secretsKey,
  type CoordinatorBootEnv,
  type Log,
  type Provider,
} from '@katapult/core';
import { awsProviderFactory } from '@katapult/aws';
import { Coordinator } from './coordinator.js';
import { buildServer } from './http/server.js';
import { jetStreamLogSource } from './job-log-source.js';
import { requireApiToken } from './http/auth.js';
import { LocalProvider, type RegistryPullCredentials } from './providers/local-provider.js';
import { NatsWatchdog, type NatsServerProcess } from './nats-watchdog.js';
import { NoLocalProvider } from './providers/no-local-provider.js';
import { ProviderRouter } from './providers/provider-router.js';
import { RunService } from './run-service.js';
import { PoolKeeper } from './pool-keeper.js';
import { openJetStreamStore } from './store/jetstream-store.js';
import { ensureStreams } from './streams.js';
import { watchNatsLink } from './nats-link.js';
import { NatsUsersFile, type NatsUsersFiles } from './nats-users.js';
import { serveReadGrants } from './read-grants.js';

export interface CoordinatorConfig {
  natsUrl: string;
  /** The coordinator's NATS credentials, and the ones it hands to the agents it starts. */
  natsUser?: string;
  natsPassword?: string;
  /** Where to issue each agent its own NATS user (the local stack's files); none: agents connect as the coordinator's user is not given out. */
  natsUsersFiles?: NatsUsersFiles;
  /** The stack's CA certificate (PEM) when NATS requires TLS; also handed to the agents. */
  natsCa?: string;
  /** The name NATS's certificate is checked against when it is not the host dialled (the maestro's, dialled at 127.0.0.1); also handed to EC2 agents. */
  natsTlsName?: string;
  cluster: string;
  httpHost: string;
  httpPort: number;
  /** The HTTP API over TLS with this certificate and key (PEM); plain HTTP without them. */
  httpsCert?: string;
  httpsKey?: string;
  /** The local provider's agent image; none: no local provider, a run placed locally is refused (the maestro has no Docker). */
  agentImage?: string;
  stackLabel: string;
  dockerSocket: string;
  heartbeatMs: number;
  /** Bearer token every API call but /health must carry; never logged. */
  apiToken: string;
  /** Pull-only credentials of the local stack's read-only registry, handed to the agents it starts. */
  registryPull?: RegistryPullCredentials;
  /** The local stack's nats-server, restarted when it wedges on a full disk (nats-watchdog.ts). */
  natsServer?: NatsServerProcess;
  /** Below this free space there, the watchdog reports the disk full (KATAPULT_MIN_FREE_BYTES; default 64 MiB). */
  minFreeBytes?: number;
  /** How old an instance of no stored run's pool must be to be terminated (KATAPULT_ORPHAN_GRACE_MS; default 10 min), and how often they are looked for (KATAPULT_ORPHAN_CHECK_MS; default 60 s). */
  orphanGraceMs?: number;
  orphanCheckMs?: number;
  /** What the cluster's streams and file store may hold together (KATAPULT_STREAM_MAX_BYTES); none: no limit (see streams.ts). */
  streamBudgetBytes?: number;
}

export function readCoordinatorConfig(env: NodeJS.ProcessEnv): CoordinatorConfig {
  const boot = decodeCoordinatorEnv(env);
  const required = <K extends 'agentImage' | 'stackLabel'>(key: K): string => {
    const value = boot[key];
    if (!value) throw new KatapultError('KP_COORDINATOR_CONFIG', `${COORDINATOR_ENV[key]} is not set`, { exitCode: ExitCode.badInput });
    return value;
  };
  return {
    natsUrl: boot.natsUrl,
    ...(boot.natsUser ? { natsUser: boot.natsUser } : {}),
    ...(boot.natsPassword ? { natsPassword: boot.natsPassword } : {}),
    ...(boot.natsCa ? { natsCa: boot.natsCa } : {}),
    ...(boot.natsTlsName ? { natsTlsName: boot.natsTlsName } : {}),
    ...httpsFiles(boot),
    ...(boot.natsUsersFile && boot.natsAgentsFile && boot.natsPidFile
      ? { natsUsersFiles: { users: boot.natsUsersFile, agents: boot.natsAgentsFile, pid: boot.natsPidFile } }
      : {}),
    cluster: boot.cluster ?? 'local',
    httpHost: boot.httpHost ?? '127.0.0.1',
    httpPort: boot.httpPort ?? 0,
    agentImage: required('agentImage'),
    stackLabel: required('stackLabel'),
    dockerSocket: (env['DOCKER_HOST'] ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, ''),
    heartbeatMs: boot.heartbeatMs ?? 2000,
    apiToken: requireApiToken(boot.apiToken),
    ...natsServerProcess(boot),
    ...(boot.minFreeBytes === undefined ? {} : { minFreeBytes: boot.minFreeBytes }),
    ...(boot.orphanGraceMs === undefined ? {} : { orphanGraceMs: boot.orphanGraceMs }),
    ...(boot.orphanCheckMs === undefined ? {} : { orphanCheckMs: boot.orphanCheckMs }),
    ...streamBudget(boot.streamMaxBytes),
    ...(boot.registryPull ? { registryPull: boot.registryPull } : {}),
  };
}

/** KATAPULT_NATS_SERVER, _CONFIG, _LOG, _PID_FILE and KATAPULT_STATE_DIR: all, or no watchdog. */
function natsServerProcess(boot: CoordinatorBootEnv): { natsServer?: NatsServerProcess } {
  const { natsServer: binary, natsConfig: config, natsLog: logFile, natsPidFile: pidFile, stateDir } = boot;
  if (!binary || !config || !logFile || !pidFile || !stateDir) return {};
  return { natsServer: { binary, config, logFile, pidFile, folders: [stateDir, join(stateDir, 'nats')] } };
}

function streamBudget(raw: string | undefined): { streamBudgetBytes?: number } {
  try {
    const bytes = parseStreamBudget(raw);
    return bytes === undefined ? {} : { streamBudgetBytes: bytes };
  } catch (error) {
    throw new KatapultError('KP_COORDINATOR_CONFIG', (error as Error).message, { exitCode: ExitCode.badInput });
  }
}

/** KATAPULT_HTTPS_CERT_FILE and KATAPULT_HTTPS_KEY_FILE, read as PEM: both or neither. */
function httpsFiles(boot: CoordinatorBootEnv): { httpsCert?: string; httpsKey?: string } {
  const { httpsCertFile: certFile, httpsKeyFile: keyFile } = boot;
  if (!certFile && !keyFile) return {};
  if (!certFile || !keyFile) {
    throw new KatapultError('KP_COORDINATOR_CONFIG', `${COORDINATOR_ENV.httpsCertFile} and ${COORDINATOR_ENV.httpsKeyFile} go together`, {
      exitCode: ExitCode.badInput,
    });
  }
  const read = (name: string, file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new KatapultError('KP_COORDINATOR_CONFIG', `${name} ${file} cannot be read: ${(error as Error).message}`, {
        exitCode: ExitCode.badInput,
      });
    }
  };
  return { httpsCert: read(COORDINATOR_ENV.httpsCertFile, certFile), httpsKey: read(COORDINATOR_ENV.httpsKeyFile, keyFile) };
}

export function coordinatorNatsOptions(config: CoordinatorConfig): NodeConnectionOptions {
  return natsConnectionOptions(
    { url: config.natsUrl, user: config.natsUser, password: config.natsPassword, ca: config.natsCa, tlsName: config.natsTlsName },
    { name: 'katapult-coordinator', service: true },
  );
}

export interface RunningCoordinator {
  nc: NatsConnection;
  server: FastifyInstance;
  url: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Where instances come from instead of the local and AWS providers (a benchmark's simulated agents start themselves). */
  provider?: Provider;
  /** The HTTP API's request log goes here (the process's pino logger); without it, none. */
  logger?: FastifyBaseLogger;
}

/** Composition root: connects NATS, opens the store, starts the loops and the HTTP API. */
export async function startCoordinator(config: CoordinatorConfig, log: Log, options: StartOptions = {}): Promise<RunningCoordinator> {
  const names = clusterNames(config.cluster);
  const nc = await connect(coordinatorNatsOptions(config));
  const watchdog = config.natsServer
    ? new NatsWatchdog({
        server: config.natsServer,
        minFreeBytes: config.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES,
        jetStreamAnswers: async () => {
          try {
            await (await jetstreamManager(nc, { timeout: 2_000 })).getAccountInfo();
            return true;
          } catch {
            return false;
          }
        },
        log,
      })
    : undefined;
  watchdog?.start();
  await ensureStreams(nc, names, { ...(config.streamBudgetBytes === undefined ? {} : { budgetBytes: config.streamBudgetBytes }), log });
  const store = await openJetStreamStore(nc, names, { agentTtlMs: agentLeaseMs(config.heartbeatMs) });
  const credentials =
    config.natsUsersFiles && config.natsUser
      ? new NatsUsersFile(names, { user: config.natsUser, pass: config.natsPassword ?? '' }, config.natsUsersFiles)
      : undefined;
  const local: Provider = config.agentImage
    ? new LocalProvider(new Docker(), {
        agentImage: config.agentImage,
        natsUrl: config.natsUrl,
        ...(config.natsCa ? { natsCa: config.natsCa } : {}),
        ...(credentials ? { credentials } : {}),
        cluster: config.cluster,
        stackLabel: config.stackLabel,
        dockerSocket: config.dockerSocket,
        heartbeatMs: config.heartbeatMs,
        ...(config.registryPull ? { registryPull: config.registryPull } : {}),
      })
    : new NoLocalProvider();
  // Each run's placement picks where its instances come from: agent containers here, or EC2.
  const provider =
    options.provider ??
    new ProviderRouter(
      local,
      awsProviderFactory({
        cluster: config.cluster,
        natsUrl: config.natsUrl,
        natsCa: config.natsCa,
        natsTlsName: config.natsTlsName,
        credentials,
        stackLabel: config.stackLabel,
        heartbeatMs: config.heartbeatMs,
        ...(config.orphanGraceMs === undefined ? {} : { orphanGraceMs: config.orphanGraceMs }),
        log,
      }),
    );
  const link = watchNatsLink(nc, Date.now, log);
  // Secret values are kept under a key only the API token's holders can make: the JetStream files hold none readable.
  const runSecretsKey = secretsKey(config.apiToken, 'run');
  const pools = new PoolKeeper(store, provider, {
    log,
    ...(config.orphanCheckMs === undefined ? {} : { orphanCheckMs: config.orphanCheckMs }),
  });
  const coordinator = new Coordinator(nc, names, store, {
    tickMs: 500,
    lostGraceMs: agentLeaseMs(config.heartbeatMs),
    // Two heartbeats missed: not yet lost, but no new work.
    freshAgentMs: config.heartbeatMs * 3,
    secretsKey: runSecretsKey,
    ...(credentials ? { agentSecret: (agentId: string) => credentials.secretOf(agentId) } : {}),
    log,
    pools,
    link,
  });
  await coordinator.start();
  // Agents read their attempts' inputs only through what this grants (agentPermissions).
  const readGrants = serveReadGrants(nc, names, store, log);
  const runs = new RunService(store, provider, {
    pools,
    waiting: (job) => coordinator.waitingReason(job),
    placeNow: () => void coordinator.requestPlacement(),
    secretsKey: runSecretsKey,
  });
  const server = buildServer(runs, {
    token: config.apiToken,
    healthy: () => link.connected,
    diskFull: () => watchdog?.diskFull(),
    logs: jetStreamLogSource(nc, names, async (runId, jobId) => (await store.getJob(runId, jobId))?.value),
    ...(config.httpsCert && config.httpsKey ? { https: { cert: config.httpsCert, key: config.httpsKey } } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const url = await server.listen({ host: config.httpHost, port: config.httpPort });
  return {
    nc,
    server,
    url,
    async stop() {
      watchdog?.stop();
      readGrants.unsubscribe();
      coordinator.stop();
      await server.close();
      await nc.drain();
    },
  };
}
