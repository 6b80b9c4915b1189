/**
 * The environment an agent boots with: every KATAPULT_* variable that crosses from the coordinator (the local
 * provider's container Env, the EC2 user-data's env file) to the agent, named, encoded and decoded here only.
 */
import { KatapultError } from '../errors.js';
import { POOL_ID_PATTERN } from '../model/pools.js';
import { isDnsName } from '../model/registry-host.js';

export const AGENT_ENV = {
  natsUrl: 'KATAPULT_NATS_URL',
  natsUser: 'KATAPULT_NATS_USER',
  natsPassword: 'KATAPULT_NATS_PASSWORD',
  natsCa: 'KATAPULT_NATS_CA',
  /** The CA as base64, for an env file that holds one line per variable. */
  natsCaBase64: 'KATAPULT_NATS_CA_BASE64',
  natsTlsName: 'KATAPULT_NATS_TLS_NAME',
  agentId: 'KATAPULT_AGENT_ID',
  instanceId: 'KATAPULT_INSTANCE_ID',
  pool: 'KATAPULT_POOL',
  cluster: 'KATAPULT_CLUSTER',
  cpus: 'KATAPULT_CPUS',
  gpus: 'KATAPULT_GPUS',
  instanceType: 'KATAPULT_INSTANCE_TYPE',
  memoryBytes: 'KATAPULT_MEMORY_BYTES',
  stackLabel: 'KATAPULT_STACK_LABEL',
  heartbeatMs: 'KATAPULT_HEARTBEAT_MS',
  metadataUrl: 'KATAPULT_METADATA_URL',
  metadataPollMs: 'KATAPULT_METADATA_POLL_MS',
  httpPort: 'KATAPULT_AGENT_PORT',
  httpHost: 'KATAPULT_AGENT_HOST',
  cacheDir: 'KATAPULT_CACHE_DIR',
  jobsInAgentCgroup: 'KATAPULT_JOBS_IN_AGENT_CGROUP',
  registryHost: 'KATAPULT_REGISTRY_HOST',
  registryUser: 'KATAPULT_REGISTRY_USER',
  registryPassword: 'KATAPULT_REGISTRY_PASSWORD',
} as const;

/** What an agent is told at boot, as it reads it (defaults filled in). */
export interface AgentBootConfig {
  natsUrl: string;
  natsUser?: string;
  natsPassword?: string;
  /** The stack's CA certificate (PEM) when NATS requires TLS. */
  natsCa?: string;
  /** The name on NATS's certificate when the agent dials it by another (KATAPULT_NATS_TLS_NAME): the maestro's. */
  natsTlsName?: string;
  cluster: string;
  agentId: string;
  instanceId: string;
  cpus: number;
  /** GPUs the instance offers to jobs (KATAPULT_GPUS, default 0): on AWS what `nvidia-smi -L` lists. */
  gpus: number;
  /** The cloud's instance type (KATAPULT_INSTANCE_TYPE), shown where agents are listed; unset for local agents. */
  instanceType?: string;
  /** The pool the agent was started for (KATAPULT_POOL): only that pool's runs give it jobs. */
  pool?: string;
  /** Memory the instance offers to jobs (KATAPULT_MEMORY_BYTES); null: not said, jobs without a limit get none. */
  memoryBytes: number | null;
  /** Label value put on every job container, so `katapult down` finds everything a stack started. */
  stackLabel: string;
  /** Port of the local HTTP API; 0 turns it off. */
  httpPort: number;
  httpHost: string;
  heartbeatMs: number;
  /** Where the agent keeps its copies of the files jobs read, one per content. */
  cacheDir: string;
  /**
   * Base address of the EC2 instance metadata service, watched for a spot interruption notice
   * (http://169.254.169.254 on AWS, set by the user-data); unset, nothing is watched.
   */
  metadataUrl: string | undefined;
  /** Time between two looks for an interruption notice. */
  metadataPollMs: number;
  /**
   * Pull credentials for one registry (KATAPULT_REGISTRY_HOST, _USER, _PASSWORD): the local stack's read-only
   * registry, which takes no push whatever the credentials.
   */
  registry?: { serveraddress: string; username: string; password: string };
  /** KATAPULT_JOBS_IN_AGENT_CGROUP=1: job containers go under the agent container's own cgroup, sharing its pids limit. */
  jobsInAgentCgroup: boolean;
}

/**
 * What a writer gives: where NATS is and the cluster, and any of the rest (unset: the agent's default). The agent
 * id is needed too, but the EC2 boot script may add it itself (the instance's id).
 */
export type AgentBootEnv = Pick<AgentBootConfig, 'natsUrl' | 'cluster'> & Partial<Omit<AgentBootConfig, 'natsUrl' | 'cluster'>>;

export interface AgentEnvEncoding {
  /** The CA as KATAPULT_NATS_CA_BASE64 rather than as PEM: an env file holds one line per variable. */
  oneLine?: boolean;
}

/** The variables of an agent's environment, in a stable order; what is unset is left out. */
export function encodeAgentEnv(boot: AgentBootEnv, encoding: AgentEnvEncoding = {}): Record<string, string> {
  const env: Record<string, string> = {};
  const put = (key: keyof typeof AGENT_ENV, value: string | number | undefined | null) => {
    if (value !== undefined && value !== null) env[AGENT_ENV[key]] = String(value);
  };
  put('natsUrl', boot.natsUrl);
  if (boot.natsUser) {
    put('natsUser', boot.natsUser);
    put('natsPassword', boot.natsPassword ?? '');
  }
  if (boot.natsCa) put(encoding.oneLine ? 'natsCaBase64' : 'natsCa', encoding.oneLine ? btoa(boot.natsCa) : boot.natsCa);
  put('natsTlsName', boot.natsTlsName);
  put('agentId', boot.agentId);
  put('instanceId', boot.instanceId);
  put('pool', boot.pool);
  put('cluster', boot.cluster);
  put('cpus', boot.cpus);
  put('gpus', boot.gpus);
  put('instanceType', boot.instanceType);
  put('memoryBytes', boot.memoryBytes);
  put('stackLabel', boot.stackLabel);
  put('heartbeatMs', boot.heartbeatMs);
  put('metadataUrl', boot.metadataUrl);
  put('metadataPollMs', boot.metadataPollMs);
  put('httpPort', boot.httpPort);
  put('httpHost', boot.httpHost);
  put('cacheDir', boot.cacheDir);
  if (boot.jobsInAgentCgroup) put('jobsInAgentCgroup', '1');
  if (boot.registry) {
    put('registryHost', boot.registry.serveraddress);
    put('registryUser', boot.registry.username);
    put('registryPassword', boot.registry.password);
  }
  return env;
}

/** The most GPUs an agent record may carry (AgentRecordSchema): a larger count would make every heartbeat invalid. */
const MAX_GPUS = 64;

const configError = (message: string) => new KatapultError('KP_AGENT_CONFIG', message);

/** Reads an agent's environment; a missing or malformed variable is one KP_AGENT_CONFIG line naming it. */
export function decodeAgentEnv(env: Readonly<Record<string, string | undefined>>): AgentBootConfig {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw configError(`${name} is not set`);
    return value;
  };
  const integer = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) throw configError(`${name} must be a non-negative integer, got "${raw}"`);
    return value;
  };
  const natsUser = env[AGENT_ENV.natsUser];
  const natsTlsName = env[AGENT_ENV.natsTlsName];
  const registryHost = env[AGENT_ENV.registryHost];
  const registryUser = env[AGENT_ENV.registryUser];
  const agentId = required(AGENT_ENV.agentId);
  return {
    natsUrl: required(AGENT_ENV.natsUrl),
    ...natsCa(env),
    ...(natsTlsName ? { natsTlsName } : {}),
    ...(natsUser ? { natsUser, natsPassword: env[AGENT_ENV.natsPassword] ?? '' } : {}),
    cluster: required(AGENT_ENV.cluster),
    agentId,
    instanceId: env[AGENT_ENV.instanceId] ?? agentId,
    cpus: Math.max(1, integer(AGENT_ENV.cpus, 1)),
    gpus: gpuCount(integer(AGENT_ENV.gpus, 0)),
    ...instanceType(env[AGENT_ENV.instanceType]),
    ...poolOf(env[AGENT_ENV.pool]),
    memoryBytes: env[AGENT_ENV.memoryBytes] ? integer(AGENT_ENV.memoryBytes, 0) : null,
    stackLabel: env[AGENT_ENV.stackLabel] ?? '',
    httpPort: integer(AGENT_ENV.httpPort, 0),
    httpHost: env[AGENT_ENV.httpHost] ?? '127.0.0.1',
    heartbeatMs: integer(AGENT_ENV.heartbeatMs, 2000),
    cacheDir: env[AGENT_ENV.cacheDir] ?? '/tmp/katapult-files',
    metadataUrl: metadataUrl(env[AGENT_ENV.metadataUrl]),
    // At least 100 ms, so a 0 cannot make the agent hammer the metadata service.
    metadataPollMs: Math.max(100, integer(AGENT_ENV.metadataPollMs, 5000)),
    jobsInAgentCgroup: env[AGENT_ENV.jobsInAgentCgroup] === '1',
    ...(registryHost && registryUser
      ? { registry: { serveraddress: registryHost, username: registryUser, password: env[AGENT_ENV.registryPassword] ?? '' } }
      : {}),
  };
}

function gpuCount(value: number): number {
  if (value > MAX_GPUS) throw configError(`${AGENT_ENV.gpus} must be at most ${MAX_GPUS}, got ${value}`);
  return value;
}

/** Checked here, as the coordinator drops a heartbeat whose instance type does not match AgentRecordSchema. */
function instanceType(raw: string | undefined): { instanceType?: string } {
  if (raw === undefined || raw === '') return {};
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(raw))
    throw configError(`${AGENT_ENV.instanceType} must be letters, digits, ".", "-" or "_", got "${raw}"`);
  return { instanceType: raw };
}

/** Checked here, as the coordinator drops a heartbeat whose pool does not match AgentRecordSchema. */
function poolOf(raw: string | undefined): { pool?: string } {
  if (raw === undefined || raw === '') return {};
  if (!new RegExp(POOL_ID_PATTERN).test(raw))
    throw configError(`${AGENT_ENV.pool} must be a pool id, <project>/<8 hex digits>, got "${raw}"`);
  return { pool: raw };
}

/** The metadata service's base address, without a trailing slash; empty or unset turns the watch off. */
function metadataUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^https?:\/\/[^/]/.test(raw) || !URL.canParse(raw))
    throw configError(`${AGENT_ENV.metadataUrl} must be an http:// address, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

/** The CA as PEM (KATAPULT_NATS_CA), or base64 of it (KATAPULT_NATS_CA_BASE64). */
function natsCa(env: Readonly<Record<string, string | undefined>>): { natsCa?: string } {
  const pem = env[AGENT_ENV.natsCa];
  if (pem) return { natsCa: pem };
  const encoded = env[AGENT_ENV.natsCaBase64];
  if (!encoded) return {};
  let decoded = '';
  try {
    decoded = atob(encoded);
  } catch {
    // Not base64: refused below with the same line as base64 of something else.
  }
  if (!decoded.includes('-----BEGIN CERTIFICATE-----'))
    throw configError(`${AGENT_ENV.natsCaBase64} is not a base64-encoded PEM certificate`);
  return { natsCa: decoded };
}

/** The coordinator's environment: written by the CLI for a local stack (the maestro builds its config itself). */
export const COORDINATOR_ENV = {
  natsUrl: 'KATAPULT_NATS_URL',
  natsUser: 'KATAPULT_NATS_USER',
  natsPassword: 'KATAPULT_NATS_PASSWORD',
  natsCa: 'KATAPULT_NATS_CA',
  natsTlsName: 'KATAPULT_NATS_TLS_NAME',
  natsUsersFile: 'KATAPULT_NATS_USERS_FILE',
  natsAgentsFile: 'KATAPULT_NATS_AGENTS_FILE',
  natsPidFile: 'KATAPULT_NATS_PID_FILE',
  natsServer: 'KATAPULT_NATS_SERVER',
  natsConfig: 'KATAPULT_NATS_CONFIG',
  natsLog: 'KATAPULT_NATS_LOG',
  stateDir: 'KATAPULT_STATE_DIR',
  cluster: 'KATAPULT_CLUSTER',
  httpHost: 'KATAPULT_HTTP_HOST',
  httpPort: 'KATAPULT_HTTP_PORT',
  httpsCertFile: 'KATAPULT_HTTPS_CERT_FILE',
  httpsKeyFile: 'KATAPULT_HTTPS_KEY_FILE',
  agentImage: 'KATAPULT_AGENT_IMAGE',
  stackLabel: 'KATAPULT_STACK_LABEL',
  heartbeatMs: 'KATAPULT_HEARTBEAT_MS',
  apiToken: 'KATAPULT_API_TOKEN',
  minFreeBytes: 'KATAPULT_MIN_FREE_BYTES',
  orphanGraceMs: 'KATAPULT_ORPHAN_GRACE_MS',
  orphanCheckMs: 'KATAPULT_ORPHAN_CHECK_MS',
  streamMaxBytes: 'KATAPULT_STREAM_MAX_BYTES',
  registryPullHost: 'KATAPULT_REGISTRY_PULL_HOST',
  registryPullUser: 'KATAPULT_REGISTRY_PULL_USER',
  registryPullPassword: 'KATAPULT_REGISTRY_PULL_PASSWORD',
} as const;

/** The coordinator's environment as typed values; files are named, not read (reading them is the coordinator's). */
export interface CoordinatorBootEnv {
  natsUrl: string;
  natsUser?: string;
  natsPassword?: string;
  natsCa?: string;
  natsTlsName?: string;
  natsUsersFile?: string;
  natsAgentsFile?: string;
  natsPidFile?: string;
  natsServer?: string;
  natsConfig?: string;
  natsLog?: string;
  stateDir?: string;
  cluster?: string;
  httpHost?: string;
  httpPort?: number;
  httpsCertFile?: string;
  httpsKeyFile?: string;
  agentImage?: string;
  stackLabel?: string;
  heartbeatMs?: number;
  apiToken?: string;
  minFreeBytes?: number;
  orphanGraceMs?: number;
  orphanCheckMs?: number;
  /** As written: a size (parseStreamBudget), checked by the coordinator. */
  streamMaxBytes?: string;
  registryPull?: { host: string; username: string; password: string };
}

type CoordinatorEnvKey = Exclude<keyof CoordinatorBootEnv, 'registryPull'>;
const NUMBERS = new Set<CoordinatorEnvKey>(['httpPort', 'heartbeatMs', 'minFreeBytes', 'orphanGraceMs', 'orphanCheckMs']);

export function encodeCoordinatorEnv(boot: CoordinatorBootEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of Object.keys(COORDINATOR_ENV) as (keyof typeof COORDINATOR_ENV)[]) {
    const value = (boot as unknown as Record<string, unknown>)[key];
    if (typeof value === 'string' || typeof value === 'number') env[COORDINATOR_ENV[key]] = String(value);
  }
  if (boot.registryPull) {
    env[COORDINATOR_ENV.registryPullHost] = boot.registryPull.host;
    env[COORDINATOR_ENV.registryPullUser] = boot.registryPull.username;
    env[COORDINATOR_ENV.registryPullPassword] = boot.registryPull.password;
  }
  return env;
}

/** Reads the coordinator's environment; a malformed number is one KP_COORDINATOR_CONFIG line naming its variable. */
export function decodeCoordinatorEnv(env: Readonly<Record<string, string | undefined>>): CoordinatorBootEnv {
  const natsUrl = env[COORDINATOR_ENV.natsUrl];
  if (!natsUrl) throw new KatapultError('KP_COORDINATOR_CONFIG', `${COORDINATOR_ENV.natsUrl} is not set`);
  const boot: Record<string, string | number> = { natsUrl };
  for (const key of Object.keys(COORDINATOR_ENV) as (keyof typeof COORDINATOR_ENV)[]) {
    const raw = env[COORDINATOR_ENV[key]];
    if (key === 'natsUrl' || key.startsWith('registryPull') || raw === undefined || raw === '') continue;
    if (!NUMBERS.has(key as CoordinatorEnvKey)) {
      boot[key] = raw;
      continue;
    }
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) {
      throw new KatapultError('KP_COORDINATOR_CONFIG', `${COORDINATOR_ENV[key]} must be a non-negative integer, got "${raw}"`);
    }
    boot[key] = value;
  }
  const [host, username] = [env[COORDINATOR_ENV.registryPullHost], env[COORDINATOR_ENV.registryPullUser]];
  const registryPull =
    host && username ? { registryPull: { host, username, password: env[COORDINATOR_ENV.registryPullPassword] ?? '' } } : {};
  return { ...(boot as unknown as CoordinatorBootEnv), ...registryPull };
}

/** The maestro container's environment: written by the CLI into the maestro's EC2 user-data (its TLS name by the boot script's renderer). */
export const MAESTRO_ENV = {
  cluster: 'KATAPULT_CLUSTER',
  stackLabel: 'KATAPULT_STACK_LABEL',
  tlsName: 'KATAPULT_TLS_NAME',
  listen: 'KATAPULT_LISTEN',
  natsPort: 'KATAPULT_NATS_PORT',
  httpPort: 'KATAPULT_HTTP_PORT',
  heartbeatMs: 'KATAPULT_HEARTBEAT_MS',
  stateDir: 'KATAPULT_STATE_DIR',
} as const;

export interface MaestroBootEnv {
  cluster: string;
  stackLabel: string;
  /** The DNS name on the server certificate; clients dialling an address check the certificate against it. */
  tlsName: string;
  /** Address NATS and the API listen on (default 0.0.0.0). */
  listen: string;
  natsPort: number;
  httpPort: number;
  heartbeatMs: number;
  /** The state folder the boot script mounts (default /state). */
  stateDir: string;
}

export function encodeMaestroEnv(boot: Partial<MaestroBootEnv>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of Object.keys(MAESTRO_ENV) as (keyof MaestroBootEnv)[]) {
    const value = boot[key];
    if (value !== undefined) env[MAESTRO_ENV[key]] = String(value);
  }
  return env;
}

const maestroError = (message: string) => new KatapultError('KP_MAESTRO_CONFIG', message);

/** Reads the maestro's environment, defaults filled in; a missing or malformed variable is one KP_MAESTRO_CONFIG line naming it. */
export function decodeMaestroEnv(env: Readonly<Record<string, string | undefined>>): MaestroBootEnv {
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) throw maestroError(`${name} is not set`);
    return value;
  };
  const port = (name: string, fallback: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > 65535) throw maestroError(`${name} must be a port number (1-65535), got "${raw}"`);
    return value;
  };
  const tlsName = required(MAESTRO_ENV.tlsName);
  if (!isDnsName(tlsName)) throw maestroError(`${MAESTRO_ENV.tlsName} must be a DNS name, got "${tlsName}"`);
  const natsPort = port(MAESTRO_ENV.natsPort, 4222);
  const httpPort = port(MAESTRO_ENV.httpPort, 8443);
  if (natsPort === httpPort) throw maestroError(`${MAESTRO_ENV.natsPort} and ${MAESTRO_ENV.httpPort} are both ${natsPort}`);
  const heartbeatMs = Number(env[MAESTRO_ENV.heartbeatMs]?.trim() || 2000);
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < 100) {
    throw maestroError(`${MAESTRO_ENV.heartbeatMs} must be an integer of at least 100, got "${env[MAESTRO_ENV.heartbeatMs]}"`);
  }
  return {
    cluster: required(MAESTRO_ENV.cluster),
    stackLabel: required(MAESTRO_ENV.stackLabel),
    tlsName,
    listen: env[MAESTRO_ENV.listen]?.trim() || '0.0.0.0',
    natsPort,
    httpPort,
    heartbeatMs,
    stateDir: env[MAESTRO_ENV.stateDir]?.trim() || '/state',
  };
}
