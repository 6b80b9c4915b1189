import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  AGENT_ENV,
  COORDINATOR_ENV,
  MAESTRO_ENV,
  decodeAgentEnv,
  decodeCoordinatorEnv,
  decodeMaestroEnv,
  encodeAgentEnv,
  encodeCoordinatorEnv,
  encodeMaestroEnv,
  type AgentBootConfig,
  type CoordinatorBootEnv,
} from '../src/index.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

const everything: AgentBootConfig = {
  natsUrl: 'tls://203.0.113.5:4222',
  natsUser: 'agent-a1',
  natsPassword: "p4ss'word$x",
  natsCa: CA,
  natsTlsName: 'katapult-maestro',
  cluster: 'demo',
  agentId: 'a1',
  instanceId: 'i-0abc',
  cpus: 4,
  gpus: 2,
  instanceType: 'g4dn.xlarge',
  pool: 'demo/1a2b3c4d',
  memoryBytes: 8 * 1024 ** 3,
  stackLabel: 'stack-1',
  httpPort: 8081,
  httpHost: '0.0.0.0',
  heartbeatMs: 1500,
  cacheDir: '/var/cache/katapult',
  metadataUrl: 'http://169.254.169.254',
  metadataPollMs: 2000,
  registry: { serveraddress: '127.0.0.1:5001', username: 'pull', password: 'secret' },
  jobsInAgentCgroup: true,
};

describe("an agent's boot environment", () => {
  it('decodes to what was encoded, with the CA as PEM or, for an env file, as one base64 line', () => {
    expect(decodeAgentEnv(encodeAgentEnv(everything))).toEqual(everything);
    const oneLine = encodeAgentEnv(everything, { oneLine: true });
    expect(Object.values(oneLine).some((value) => value.includes('\n'))).toBe(false);
    expect(oneLine).not.toHaveProperty(AGENT_ENV.natsCa);
    expect(decodeAgentEnv(oneLine)).toEqual(everything);
  });

  it("fills in the agent's defaults for what the writer leaves out", () => {
    const env = encodeAgentEnv({ natsUrl: 'nats://127.0.0.1:4222', cluster: 'demo', agentId: 'a1' });
    expect(env).toEqual({ KATAPULT_NATS_URL: 'nats://127.0.0.1:4222', KATAPULT_AGENT_ID: 'a1', KATAPULT_CLUSTER: 'demo' });
    expect(decodeAgentEnv(env)).toEqual({
      natsUrl: 'nats://127.0.0.1:4222',
      cluster: 'demo',
      agentId: 'a1',
      instanceId: 'a1',
      cpus: 1,
      gpus: 0,
      memoryBytes: null,
      stackLabel: '',
      httpPort: 0,
      httpHost: '127.0.0.1',
      heartbeatMs: 2000,
      cacheDir: '/tmp/katapult-files',
      metadataUrl: undefined,
      metadataPollMs: 5000,
      jobsInAgentCgroup: false,
    });
  });

  it('refuses a missing or malformed variable with one KP_AGENT_CONFIG line naming it', () => {
    const good = encodeAgentEnv(everything);
    const refusal = (changes: Record<string, string | undefined>) => {
      try {
        decodeAgentEnv({ ...good, ...changes });
      } catch (error) {
        return error as Error & { code: string; exitCode: number };
      }
      throw new Error('accepted');
    };
    expect(refusal({ KATAPULT_CLUSTER: undefined })).toMatchObject({
      code: 'KP_AGENT_CONFIG',
      exitCode: 2,
      message: 'KATAPULT_CLUSTER is not set',
    });
    expect(refusal({ KATAPULT_CPUS: 'four' }).message).toBe('KATAPULT_CPUS must be a non-negative integer, got "four"');
    expect(refusal({ KATAPULT_GPUS: '65' }).message).toBe('KATAPULT_GPUS must be at most 64, got 65');
    expect(refusal({ KATAPULT_POOL: 'demo' }).message).toMatch(/^KATAPULT_POOL must be a pool id/);
    expect(refusal({ KATAPULT_METADATA_URL: 'ftp://x' }).message).toMatch(/^KATAPULT_METADATA_URL must be an http/);
    expect(refusal({ KATAPULT_INSTANCE_TYPE: 'g4dn xlarge' }).message).toMatch(/^KATAPULT_INSTANCE_TYPE must be letters/);
    expect(refusal({ KATAPULT_NATS_CA: undefined, KATAPULT_NATS_CA_BASE64: '%%%' }).message).toBe(
      'KATAPULT_NATS_CA_BASE64 is not a base64-encoded PEM certificate',
    );
  });
});

describe("a local coordinator's boot environment", () => {
  const everything: CoordinatorBootEnv = {
    natsUrl: 'nats://127.0.0.1:4222',
    natsUser: 'admin',
    natsPassword: 'pw',
    natsCa: CA,
    natsTlsName: 'katapult-maestro',
    natsUsersFile: '/s/nats-users.conf',
    natsAgentsFile: '/s/nats-agents.json',
    natsPidFile: '/s/nats.pid',
    natsServer: '/usr/bin/nats-server',
    natsConfig: '/s/nats.conf',
    natsLog: '/s/logs/nats.log',
    stateDir: '/s',
    cluster: 'local',
    httpHost: '127.0.0.1',
    httpPort: 8080,
    httpsCertFile: '/s/tls/cert.pem',
    httpsKeyFile: '/s/tls/key.pem',
    agentImage: '127.0.0.1:5000/katapult/agent@sha256:' + 'a'.repeat(64),
    stackLabel: 'kp-1',
    heartbeatMs: 2000,
    apiToken: 't'.repeat(64),
    minFreeBytes: 1024,
    orphanGraceMs: 3000,
    orphanCheckMs: 1000,
    streamMaxBytes: '2g',
    registryPull: { host: '127.0.0.1:5001', username: 'pull', password: 'secret' },
  };

  it('decodes to what was encoded', () => {
    expect(decodeCoordinatorEnv(encodeCoordinatorEnv(everything))).toEqual(everything);
    expect(decodeCoordinatorEnv(encodeCoordinatorEnv({ natsUrl: 'nats://h:1' }))).toEqual({ natsUrl: 'nats://h:1' });
  });

  it('refuses a missing NATS address or a malformed number with one KP_COORDINATOR_CONFIG line naming the variable', () => {
    const env = encodeCoordinatorEnv(everything);
    expect(() => decodeCoordinatorEnv({ ...env, KATAPULT_NATS_URL: '' })).toThrow('KATAPULT_NATS_URL is not set');
    expect(() => decodeCoordinatorEnv({ ...env, KATAPULT_HTTP_PORT: '80x' })).toThrow(
      'KATAPULT_HTTP_PORT must be a non-negative integer, got "80x"',
    );
    expect(() => decodeCoordinatorEnv({ ...env, KATAPULT_ORPHAN_GRACE_MS: '-1' })).toThrow(
      expect.objectContaining({ code: 'KP_COORDINATOR_CONFIG', exitCode: 2 }),
    );
  });
});

describe("the maestro's boot environment", () => {
  it('decodes to what was encoded, and fills in the defaults', () => {
    const everything = {
      cluster: 'far',
      stackLabel: 'maestro-far',
      tlsName: 'katapult-maestro',
      listen: '127.0.0.1',
      natsPort: 14222,
      httpPort: 18443,
      heartbeatMs: 500,
      stateDir: '/srv/state',
    };
    expect(decodeMaestroEnv(encodeMaestroEnv(everything))).toEqual(everything);
    expect(decodeMaestroEnv(encodeMaestroEnv({ cluster: 'far', stackLabel: 'm', tlsName: 'katapult-maestro' }))).toEqual({
      cluster: 'far',
      stackLabel: 'm',
      tlsName: 'katapult-maestro',
      listen: '0.0.0.0',
      natsPort: 4222,
      httpPort: 8443,
      heartbeatMs: 2000,
      stateDir: '/state',
    });
  });

  it('refuses a malformed variable with one KP_MAESTRO_CONFIG line naming it', () => {
    const env = encodeMaestroEnv({ cluster: 'far', stackLabel: 'm', tlsName: 'katapult-maestro' });
    expect(() => decodeMaestroEnv({ ...env, KATAPULT_NATS_PORT: '70000' })).toThrow(
      'KATAPULT_NATS_PORT must be a port number (1-65535), got "70000"',
    );
    expect(() => decodeMaestroEnv({ ...env, KATAPULT_TLS_NAME: 'not a name' })).toThrow(
      expect.objectContaining({ code: 'KP_MAESTRO_CONFIG', exitCode: 2 }),
    );
  });
});

describe('the boot environments', () => {
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  const sourceFiles = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? ['node_modules', 'dist'].includes(entry.name)
          ? []
          : sourceFiles(join(dir, entry.name))
        : entry.name.endsWith('.ts')
          ? [join(dir, entry.name)]
          : [],
    );
  // Read where a person sets them, besides the boot environment: the CLI heeds the same free-space floor, and the
  // maestro image names its nats-server binary in its Dockerfile. A job's own environment (job-env.ts, in core) is
  // another contract, with a KATAPULT_CPUS and KATAPULT_GPUS of its own.
  const ALSO_READ = new Set([
    'launcher/src/state/disk-space.ts KATAPULT_MIN_FREE_BYTES',
    'coordinator/src/maestro/run-maestro.ts KATAPULT_NATS_SERVER',
    'core/src/model/job-env.ts KATAPULT_CPUS',
    'core/src/model/job-env.ts KATAPULT_GPUS',
  ]);

  it('are written and read nowhere but boot-env.ts', () => {
    const names = new Set<string>([...Object.values(AGENT_ENV), ...Object.values(COORDINATOR_ENV), ...Object.values(MAESTRO_ENV)]);
    const elsewhere: string[] = [];
    for (const pkg of readdirSync(repoRoot, { withFileTypes: true }).filter(
      (entry) => entry.isDirectory() && entry.name !== 'node_modules',
    )) {
      let files: string[];
      try {
        files = sourceFiles(join(repoRoot, pkg.name, 'src'));
      } catch {
        continue;
      }
      for (const file of files) {
        const where = file.slice(repoRoot.length);
        if (where === 'core/src/protocol/boot-env.ts') continue;
        // env['KATAPULT_X'] reads it; a property KATAPULT_X: value and `KATAPULT_X=${value}` write it.
        const text = readFileSync(file, 'utf8');
        const found = [
          ...text.matchAll(/env\[['"](KATAPULT_[A-Z0-9_]+)['"]\]|^\s*(KATAPULT_[A-Z0-9_]+): |`(KATAPULT_[A-Z0-9_]+)=\$\{/gm),
        ].map((match) => match[1] ?? match[2] ?? match[3]);
        for (const name of found) {
          if (names.has(name!) && !ALSO_READ.has(`${where} ${name}`)) elsewhere.push(`${where} ${name}`);
        }
      }
    }
    expect(elsewhere).toEqual([]);
  });
});
