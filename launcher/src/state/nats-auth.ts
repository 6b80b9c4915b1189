import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  clusterNames,
  COORDINATOR_ENV,
  defaultStreamBudget,
  ExitCode,
  KatapultError,
  natsServerConfig,
  natsUsersConfig,
  parseKeptStoreSize,
  parseStreamBudget,
  storeSizeAtStart,
  type NatsUser,
} from '@katapult/core/light';
import { readCa, type NatsTlsFiles } from './nats-tls.js';
import { writeFileAtomic } from './atomic-file.js';
import { readStateJson } from './state-json.js';
import type { StateFolder } from './state-folder.js';

export type NatsCredentials = NatsUser;

/** The CLI and the coordinator share the admin user; each agent gets its own, issued by the coordinator. */
export interface NatsAuth {
  /** With the stack's CA when its NATS requires TLS, so a connection made from it trusts that server. */
  admin: NatsCredentials & { ca?: string };
}

/**
 * NATS files in the state folder, all readable by this user only (0600) and removed by `down`:
 * `nats-auth.json` (the admin's credentials), `nats.conf` (the server's), `nats-users.conf` (its users,
 * rewritten by the coordinator as it issues agent credentials), and the server's pid file for reloads.
 */
export const natsFiles = (state: StateFolder) => state.natsFiles;

export function readNatsAuth(state: StateFolder): NatsAuth | undefined {
  const auth = readStateJson(natsFiles(state).auth, 'natsAuth');
  if (!auth) return undefined;
  const ca = readCa(state);
  return ca ? { admin: { ...auth.admin, ca } } : auth;
}

export function ensureNatsAuth(state: StateFolder): NatsAuth {
  const existing = readNatsAuth(state);
  if (existing) return existing;
  const auth: NatsAuth = { admin: { user: 'katapult-admin', pass: randomBytes(24).toString('hex') } };
  writeFileAtomic(natsFiles(state).auth, `${JSON.stringify(auth, null, 2)}\n`);
  return auth;
}

export function removeNatsAuth(state: StateFolder): void {
  for (const file of Object.values(natsFiles(state))) rmSync(file, { force: true });
  rmSync(state.tls.folder, { recursive: true, force: true });
}

/**
 * Writes nats-server's configuration: 127.0.0.1 only (another address only for instances on a network, with TLS), JetStream on disk, no anonymous access, users from
 * nats-users.conf. That file is only created here when missing: once agents exist, the coordinator owns it.
 */
export function writeNatsServerConfig(
  state: StateFolder,
  options: { port: number; cluster: string; auth: NatsAuth; tls?: NatsTlsFiles; listenHost?: string },
): string {
  const files = natsFiles(state);
  const config = natsServerConfig({
    listen: `${options.listenHost ?? '127.0.0.1'}:${options.port}`,
    pidFile: files.pid,
    storeDir: state.natsStore,
    usersInclude: 'nats-users.conf',
    tls: options.tls,
    maxFileStoreBytes: keepMaxFileStore(state),
  });
  writeFileAtomic(files.config, config);
  if (!existsSync(files.users))
    writeFileSync(files.users, natsUsersConfig(clusterNames(options.cluster), options.auth.admin, {}), { mode: 0o600 });
  return files.config;
}

/**
 * The stack's JetStream store size, chosen when its NATS is first set up and kept with its data (`nats/max-file-store`,
 * which `down` keeps as it keeps the data), so a restart on a fuller disk still loads every stream.
 */
function keepMaxFileStore(state: StateFolder): number {
  const file = state.natsMaxFileStore;
  const { bytes, keep } = storeSizeAtStart(readKeptStoreSize(state), freeBytesOf(state.root), operatorBudget(process.env));
  if (keep !== undefined) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomic(file, keep);
  }
  return bytes;
}

/** The JetStream store size kept for the stack; undefined before its NATS was first set up. */
export function keptMaxFileStore(state: StateFolder): number | undefined {
  return parseKeptStoreSize(readKeptStoreSize(state));
}

function readKeptStoreSize(state: StateFolder): string | undefined {
  return existsSync(state.natsMaxFileStore) ? readFileSync(state.natsMaxFileStore, 'utf8') : undefined;
}

/** What the coordinator's streams may hold together: the operator's KATAPULT_STREAM_MAX_BYTES, else a share of the kept store. */
export function streamBudgetOf(state: StateFolder, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const kept = keptMaxFileStore(state);
  return operatorBudget(env) ?? (kept === undefined ? undefined : defaultStreamBudget(kept));
}

function operatorBudget(env: NodeJS.ProcessEnv): number | undefined {
  try {
    return parseStreamBudget(env[COORDINATOR_ENV.streamMaxBytes]);
  } catch (error) {
    throw new KatapultError('KP_STACK_CONFIG', (error as Error).message, { exitCode: ExitCode.badInput });
  }
}

function freeBytesOf(dir: string): number {
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
}
