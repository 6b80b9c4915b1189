import { KatapultError, ExitCode, POOL_ID_PATTERN } from '@katapult/core';

/** What an agent is told at boot, through its environment (set by the provider or the EC2 user-data). */
export interface AgentConfig {
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

export function readAgentConfig(env: NodeJS.ProcessEnv): AgentConfig {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new KatapultError('KP_AGENT_CONFIG', `${name} is not set`, { exitCode: ExitCode.badInput });
    return value;
  };
  const integer = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) {
      throw new KatapultError('KP_AGENT_CONFIG', `${name} must be a non-negative integer, got "${raw}"`, { exitCode: ExitCode.badInput });
    }
    return value;
  };
  const agentId = required('KATAPULT_AGENT_ID');
  return {
    natsUrl: required('KATAPULT_NATS_URL'),
    ...natsCa(env),
    ...(env['KATAPULT_NATS_TLS_NAME'] ? { natsTlsName: env['KATAPULT_NATS_TLS_NAME'] } : {}),
    ...(env['KATAPULT_NATS_USER'] ? { natsUser: env['KATAPULT_NATS_USER'], natsPassword: env['KATAPULT_NATS_PASSWORD'] ?? '' } : {}),
    cluster: required('KATAPULT_CLUSTER'),
    agentId,
    instanceId: env['KATAPULT_INSTANCE_ID'] ?? agentId,
    cpus: Math.max(1, integer('KATAPULT_CPUS', 1)),
    gpus: gpuCount(integer('KATAPULT_GPUS', 0)),
    ...instanceType(env['KATAPULT_INSTANCE_TYPE']),
    ...poolOf(env['KATAPULT_POOL']),
    memoryBytes: env['KATAPULT_MEMORY_BYTES'] ? integer('KATAPULT_MEMORY_BYTES', 0) : null,
    stackLabel: env['KATAPULT_STACK_LABEL'] ?? '',
    httpPort: integer('KATAPULT_AGENT_PORT', 0),
    httpHost: env['KATAPULT_AGENT_HOST'] ?? '127.0.0.1',
    heartbeatMs: integer('KATAPULT_HEARTBEAT_MS', 2000),
    cacheDir: env['KATAPULT_CACHE_DIR'] ?? '/tmp/katapult-files',
    metadataUrl: metadataUrl(env['KATAPULT_METADATA_URL']),
    // At least 100 ms, so a 0 cannot make the agent hammer the metadata service.
    metadataPollMs: Math.max(100, integer('KATAPULT_METADATA_POLL_MS', 5000)),
    jobsInAgentCgroup: env['KATAPULT_JOBS_IN_AGENT_CGROUP'] === '1',
    ...(env['KATAPULT_REGISTRY_HOST'] && env['KATAPULT_REGISTRY_USER']
      ? { registry: { serveraddress: env['KATAPULT_REGISTRY_HOST'], username: env['KATAPULT_REGISTRY_USER'], password: env['KATAPULT_REGISTRY_PASSWORD'] ?? '' } }
      : {}),
  };
}

/** The most GPUs an agent record may carry (AgentRecordSchema): a larger count would make every heartbeat invalid. */
const MAX_GPUS = 64;

function gpuCount(value: number): number {
  if (value > MAX_GPUS) {
    throw new KatapultError('KP_AGENT_CONFIG', `KATAPULT_GPUS must be at most ${MAX_GPUS}, got ${value}`, { exitCode: ExitCode.badInput });
  }
  return value;
}

/** Checked here, as the coordinator drops a heartbeat whose instance type does not match AgentRecordSchema. */
function instanceType(raw: string | undefined): { instanceType?: string } {
  if (raw === undefined || raw === '') return {};
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(raw)) {
    throw new KatapultError('KP_AGENT_CONFIG', `KATAPULT_INSTANCE_TYPE must be letters, digits, ".", "-" or "_", got "${raw}"`, { exitCode: ExitCode.badInput });
  }
  return { instanceType: raw };
}

/** Checked here, as the coordinator drops a heartbeat whose pool does not match AgentRecordSchema. */
function poolOf(raw: string | undefined): { pool?: string } {
  if (raw === undefined || raw === '') return {};
  if (!new RegExp(POOL_ID_PATTERN).test(raw)) {
    throw new KatapultError('KP_AGENT_CONFIG', `KATAPULT_POOL must be a pool id, <project>/<8 hex digits>, got "${raw}"`, { exitCode: ExitCode.badInput });
  }
  return { pool: raw };
}

/** The metadata service's base address, without a trailing slash; empty or unset turns the watch off. */
function metadataUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^https?:\/\/[^/]/.test(raw) || !URL.canParse(raw)) {
    throw new KatapultError('KP_AGENT_CONFIG', `KATAPULT_METADATA_URL must be an http:// address, got "${raw}"`, { exitCode: ExitCode.badInput });
  }
  return raw.replace(/\/+$/, '');
}

/** The CA as PEM (KATAPULT_NATS_CA), or base64 of it (KATAPULT_NATS_CA_BASE64: an env file holds one line per variable). */
function natsCa(env: NodeJS.ProcessEnv): { natsCa?: string } {
  if (env['KATAPULT_NATS_CA']) return { natsCa: env['KATAPULT_NATS_CA'] };
  const encoded = env['KATAPULT_NATS_CA_BASE64'];
  if (!encoded) return {};
  const pem = Buffer.from(encoded, 'base64').toString('utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new KatapultError('KP_AGENT_CONFIG', 'KATAPULT_NATS_CA_BASE64 is not a base64-encoded PEM certificate', { exitCode: ExitCode.badInput });
  }
  return { natsCa: pem };
}
