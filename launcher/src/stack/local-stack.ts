import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { encodeCoordinatorEnv, ExitCode, KatapultError, LABELS } from '@katapult/core/light';
import { registryConfig, withFileLock } from '@katapult/images';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePort, isAlive, portFree, portOpen, spawnDetached, stopProcess, waitUntil } from './processes.js';
import { preferredPort, readPorts, recordPort, type PortName } from '../state/stack-ports.js';
import type { StateFolder } from '../state/state-folder.js';
import { ensureApiToken, readApiToken, removeApiToken } from '../state/api-token.js';
import { ensureNatsAuth, natsFiles, removeNatsAuth, streamBudgetOf, writeNatsServerConfig, type NatsAuth } from '../state/nats-auth.js';
import { certificateNames, ensureNatsTls, natsTlsFiles, tlsRequested } from '../state/nats-tls.js';
import { readRemoteStack } from '../state/remote-stack.js';
import { requireDiskSpace } from '../state/disk-space.js';
import { ensureRegistryAuth, readRegistryAuth, registryFiles, removeRegistryAuth } from '../state/registry-auth.js';
import { connectNats } from './nats.js';
import type { OnStackStep } from './stack-steps.js';
import {
  CLUSTER,
  natsUrl,
  readStack,
  registryPullHost,
  removeStack,
  requireNatsAuth,
  writeStack,
  type NatsRecord,
  type ServerRecord,
  type StackExposure,
  type StackFile,
} from '../state/stack-file.js';

/**
 * The local default's servers, started by Katapult itself when they are not running: nats-server with
 * JetStream, a docker-registry, and the coordinator, all on 127.0.0.1 with their data under the state folder.
 * What runs where is kept in <state>/stack.json, so later commands (status, logs, down) find them.
 */
/** Finds a server binary on PATH or in the sbin folders Debian installs them to (often not on a user's PATH). */
function requireBinary(name: string, aptPackage: string): string {
  const folders = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  const found = folders.map((folder) => join(folder, name)).find((candidate) => existsSync(candidate));
  if (found) return found;
  throw new KatapultError('KP_STACK_MISSING_BINARY', `${name} is not installed`, {
    hint: `run "pnpm run setup", or install it: apt-get install ${aptPackage}`,
  });
}

/** Open port is not enough: after a restart, JetStream answers only once it has recovered its streams. */
async function jetStreamReady(port: number, credentials: NatsAuth['admin']): Promise<boolean> {
  if (!(await portOpen(port))) return false;
  try {
    const nc = await connectNats({ url: `nats://127.0.0.1:${port}`, ...credentials });
    try {
      await (await jetstreamManager(nc, { timeout: 1_000 })).getAccountInfo();
      return true;
    } finally {
      await nc.close();
    }
  } catch {
    return false;
  }
}

async function startServer(
  state: StateFolder,
  name: string,
  start: (port: number, logFile: string) => number,
  ready: (port: number) => Promise<boolean>,
  stable?: PortName,
): Promise<ServerRecord> {
  // NATS and the registry keep their port across restarts and downs: agents and the coordinator reconnect to the
  // address they were given, and the registry's port is part of every image tag pulled from it.
  const preferred = stable ? preferredPort(state, stable) : undefined;
  const port = preferred !== undefined && (await portFree(preferred)) ? preferred : await freePort();
  const logFile = state.log(name);
  const pid = start(port, logFile);
  await waitUntil(name, () => ready(port), 15_000, logFile);
  if (stable) recordPort(state, stable, port);
  return { pid, port };
}

/**
 * The address NATS listens on: 127.0.0.1, unless instances elsewhere must reach it, then every interface
 * (KATAPULT_NATS_LISTEN picks one address instead, as tests do with 127.0.0.1).
 */
export function natsListenHost(exposure: StackExposure | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return env['KATAPULT_NATS_LISTEN'] || (exposure ? '0.0.0.0' : '127.0.0.1');
}

/** A running NATS that instances elsewhere cannot use: restarting it would cut the runs going, so the user decides. */
function checkExposure(nats: NatsRecord, exposure: StackExposure, tlsNames: readonly string[]): void {
  const host = exposure.address.replace(/:\d+$/, '');
  const problem = !nats.tls
    ? 'does not speak TLS'
    : (nats.listen ?? '127.0.0.1') !== natsListenHost(exposure)
      ? `listens on ${nats.listen ?? '127.0.0.1'} only`
      : !tlsNames.includes(host)
        ? `has no TLS certificate for ${host}`
        : undefined;
  if (problem) {
    throw new KatapultError(
      'KP_STACK_NOT_EXPOSED',
      `the stack's NATS ${problem}, so EC2 instances cannot reach it at maestro_address ${exposure.address}`,
      {
        hint: 'katapult down (it stops the local runs), then launch this config again: NATS restarts with TLS on a reachable address',
        exitCode: ExitCode.infrastructure,
      },
    );
  }
}

/**
 * Starting or stopping a stack's servers, one command at a time: two launches at once would otherwise both find
 * NATS down and start one each, or the same coordinator twice.
 */
function withStackLock<T>(state: StateFolder, fn: () => Promise<T>): Promise<T> {
  return withFileLock(`the stack of ${state.root}`, fn);
}

/** NATS and the registry: reused when alive, started otherwise. */
export function ensureInfrastructure(state: StateFolder, onStep: OnStackStep, exposure?: StackExposure): Promise<StackFile> {
  return withStackLock(state, () => ensureInfrastructureNow(state, onStep, exposure));
}

async function ensureInfrastructureNow(state: StateFolder, onStep: OnStackStep, exposure?: StackExposure): Promise<StackFile> {
  mkdirSync(state.logsFolder, { recursive: true });
  requireDiskSpace(state);
  const previous = readStack(state);
  // A stack started before ports were kept: its running servers' ports are the ones to keep.
  const kept = readPorts(state);
  if (previous && kept.nats === undefined) recordPort(state, 'nats', previous.nats.port);
  if (previous && kept.registry === undefined) recordPort(state, 'registry', previous.registry.port);
  const alive = (record: ServerRecord | undefined) => record !== undefined && isAlive(record.pid);

  let nats = previous?.nats;
  const natsUp = alive(nats) && (await portOpen(nats!.port));
  if (natsUp && exposure) checkExposure(nats!, exposure, certificateNames(state));
  // TLS is decided when the stack's NATS is first set up (KATAPULT_TLS=1, or instances on a network) and kept for its life.
  const exposedNames = exposure ? [exposure.address.replace(/:\d+$/, '')] : [];
  const tls =
    tlsRequested() || exposure || existsSync(natsTlsFiles(state).ca) ? ensureNatsTls(state, natsUp ? [] : exposedNames) : undefined;
  ensureNatsAuth(state);
  const auth = requireNatsAuth(state);
  if (!natsUp) {
    const binary = requireBinary('nats-server', 'nats-server');
    const listenHost = natsListenHost(exposure);
    onStep(listenHost === '127.0.0.1' ? { step: 'nats-server', tls: false } : { step: 'nats-server', tls: true, host: listenHost });
    const started = await startServer(
      state,
      'nats',
      (port, log) => {
        const configFile = writeNatsServerConfig(state, { port, cluster: CLUSTER, auth, listenHost, ...(tls ? { tls } : {}) });
        return spawnDetached(binary, ['-c', configFile], log);
      },
      (port) => jetStreamReady(port, auth.admin),
      'nats',
    );
    nats = { ...started, listen: listenHost, tls: Boolean(tls) };
  }

  // The registry takes pushes with the CLI's credentials only; agents pull from its read-only twin (registry-auth.ts).
  ensureRegistryAuth(state);
  const files = registryFiles(state);
  const storage = state.registryStore;
  let registry = previous?.registry;
  // One started before it had credentials is open to anyone on this machine: it is restarted with them.
  if (!alive(registry) || !(await portOpen(registry!.port)) || registry!.auth !== true) {
    if (alive(registry)) await stopProcess(registry!.pid);
    const binary = requireBinary('docker-registry', 'docker-registry');
    onStep({ step: 'registry' });
    registry = {
      ...(await startServer(
        state,
        'registry',
        (port, log) => {
          writeFileSync(files.config, registryConfig(storage, port, { htpasswdFile: files.pushHtpasswd }));
          return spawnDetached(binary, ['serve', files.config], log);
        },
        registryAnswers,
        'registry',
      )),
      auth: true,
    };
  }
  let registryPull = previous?.registryPull;
  if (!alive(registryPull) || !(await portOpen(registryPull!.port))) {
    const binary = requireBinary('docker-registry', 'docker-registry');
    registryPull = await startServer(
      state,
      'registry-pull',
      (port, log) => {
        writeFileSync(files.pullConfig, registryConfig(storage, port, { htpasswdFile: files.pullHtpasswd, readOnly: true }));
        return spawnDetached(binary, ['serve', files.pullConfig], log);
      },
      registryAnswers,
      'registryPull',
    );
  }
  const coordinatorAlive = alive(previous?.coordinator) && previous?.nats.port === nats!.port;
  const stack: StackFile = {
    label: state.label,
    cluster: CLUSTER,
    nats: nats!,
    registry: registry!,
    registryPull: registryPull!,
    ...(coordinatorAlive && previous?.coordinator ? { coordinator: previous.coordinator } : {}),
  };
  writeStack(state, stack);
  return stack;
}

/** Up once `/v2/` answers, 401 included: every request needs credentials. */
async function registryAnswers(port: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined);
  await response?.body?.cancel();
  return response?.ok === true || response?.status === 401;
}

async function coordinatorHealthy(port: number): Promise<boolean> {
  return (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok === true;
}

/** The coordinator runs as a detached Node process; restarted when the agent image it was given changed. */
export function ensureCoordinator(state: StateFolder, stack: StackFile, agentImage: string, onStep: OnStackStep): Promise<StackFile> {
  // Read again under the lock: another command may have started it since `stack` was read.
  return withStackLock(state, () =>
    ensureCoordinatorNow(state, { ...stack, coordinator: readStack(state)?.coordinator }, agentImage, onStep),
  );
}

async function ensureCoordinatorNow(state: StateFolder, stack: StackFile, agentImage: string, onStep: OnStackStep): Promise<StackFile> {
  const current = stack.coordinator;
  // A coordinator running without this stack's token (started before tokens existed) is restarted with it.
  const pullHost = registryPullHost(stack);
  const registryAuth = readRegistryAuth(state);
  if (
    current &&
    isAlive(current.pid) &&
    current.agentImage === agentImage &&
    current.registryPullHost === pullHost &&
    readApiToken(state) &&
    (await portOpen(current.port))
  ) {
    // Up, but maybe still reconnecting to a NATS that just came back: wait until it says it can work.
    await waitUntil('coordinator', () => coordinatorHealthy(current.port), 30_000, state.log('coordinator'));
    return stack;
  }
  if (current) await stopProcess(current.pid);
  onStep({ step: 'coordinator' });
  const main = fileURLToPath(import.meta.resolve('@katapult/coordinator/main'));
  const apiToken = ensureApiToken(state);
  const auth = requireNatsAuth(state);
  const budget = streamBudgetOf(state);
  const record = await startServer(
    state,
    'coordinator',
    (port, log) =>
      spawnDetached(process.execPath, [main], log, {
        ...process.env,
        ...encodeCoordinatorEnv({
          natsUrl: natsUrl(stack),
          natsUser: auth.admin.user,
          natsPassword: auth.admin.pass,
          // The coordinator issues each agent its own NATS user: it rewrites the users file and reloads NATS.
          ...(auth.admin.ca ? { natsCa: auth.admin.ca } : {}),
          natsUsersFile: natsFiles(state).users,
          natsAgentsFile: natsFiles(state).agents,
          natsPidFile: natsFiles(state).pid,
          // So it can restart a nats-server wedged by a full disk once space is back (coordinator/src/nats-watchdog.ts).
          natsServer: requireBinary('nats-server', 'nats-server'),
          natsConfig: natsFiles(state).config,
          natsLog: state.log('nats'),
          stateDir: state.root,
          cluster: stack.cluster,
          httpPort: port,
          agentImage,
          stackLabel: stack.label,
          apiToken,
          ...(budget === undefined ? {} : { streamMaxBytes: String(budget) }),
          // Pull-only: agents get these for the read-only registry; pushing is the CLI's alone.
          ...(registryAuth
            ? { registryPull: { host: pullHost, username: registryAuth.pull.username, password: registryAuth.pull.password } }
            : {}),
        }),
      }),
    coordinatorHealthy,
  );
  const next = { ...stack, coordinator: { ...record, agentImage, registryPullHost: pullHost } };
  writeStack(state, next);
  return next;
}

export interface DownReport {
  containers: string[];
  processes: string[];
  /** With --images: the local image tags of this stack's registry (every port it had) that were removed. */
  images?: string[];
}

/**
 * Removes the local tags of images pulled from this state folder's registry, on every port it has had; images
 * of other stacks and other registries are left alone. A tag a container still uses stays (Docker refuses).
 */
export async function removeStackImageTags(state: StateFolder, docker: Docker): Promise<string[]> {
  const ports = readPorts(state).registryHistory ?? [];
  const prefixes = ports.map((port) => `127.0.0.1:${port}/katapult/`);
  const removed: string[] = [];
  for (const image of await docker.listImages()) {
    for (const tag of image.RepoTags ?? []) {
      if (!prefixes.some((prefix) => tag.startsWith(prefix))) continue;
      const gone = await docker
        .getImage(tag)
        .remove()
        .then(
          () => true,
          () => false,
        );
      if (gone) removed.push(tag);
    }
  }
  return removed.sort();
}

/**
 * Removes every container of the stack, agents first so none starts a new job container meanwhile, and lists
 * again until none is left: a create the stopped coordinator had sent may still have been landing in Docker.
 */
async function removeStackContainers(docker: Docker, label: string): Promise<string[]> {
  const removed: string[] = [];
  for (let round = 0; round < 5; round += 1) {
    const containers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.stack}=${label}`] } });
    if (containers.length === 0) break;
    containers.sort((a, b) => Number(b.Labels[LABELS.role] === 'agent') - Number(a.Labels[LABELS.role] === 'agent'));
    for (const container of containers) {
      await docker
        .getContainer(container.Id)
        .remove({ force: true })
        .catch(() => undefined);
      removed.push((container.Names[0] ?? container.Id).replace(/^\//, ''));
    }
  }
  return removed;
}

/** Stops the coordinator, removes every container labelled with this stack (agents and their jobs), then stops the servers. */
export function stopStack(state: StateFolder, docker: Docker): Promise<DownReport> {
  return withStackLock(state, () => stopStackNow(state, docker));
}

async function stopStackNow(state: StateFolder, docker: Docker): Promise<DownReport> {
  const remote = readRemoteStack(state);
  if (remote) {
    // Its secrets here are the only way into that maestro: they go only with it (katapult down CONFIG).
    throw new KatapultError('KP_STACK_KIND', `${state.root} records the maestro of project ${remote.project} (${remote.publicIp})`, {
      hint: `remove it with: katapult down <the config of project ${remote.project}>`,
      exitCode: ExitCode.badInput,
    });
  }
  const stack = readStack(state);
  const processes: string[] = [];
  // The coordinator first: until it is gone it may be creating agents (an ensure in flight), which a listing
  // taken before would miss.
  if (await stopProcess(stack?.coordinator?.pid)) processes.push('coordinator');
  const removed = await removeStackContainers(docker, state.label);
  for (const [name, record] of [
    ['registry', stack?.registry],
    ['registry-pull', stack?.registryPull],
    ['nats-server', stack?.nats],
  ] as const) {
    if (await stopProcess(record?.pid)) processes.push(name);
  }
  removeStack(state);
  removeApiToken(state);
  removeNatsAuth(state);
  removeRegistryAuth(state);
  return { containers: removed, processes };
}
