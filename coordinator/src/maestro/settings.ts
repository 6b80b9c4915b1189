import { join } from 'node:path';
import { ExitCode, isDnsName, KatapultError } from '@katapult/core';

/** The maestro's state folder, mounted at /state: written by the boot script before the container starts. */
export interface MaestroFiles {
  dir: string;
  ca: string;
  cert: string;
  key: string;
  /** `{"admin":{"user","pass"}}`, as the local stack's nats-auth.json. */
  auth: string;
  /** The API's bearer token, one line. */
  apiToken: string;
  natsConfig: string;
  natsUsers: string;
  natsAgents: string;
  natsPid: string;
  natsStore: string;
}

export function maestroFiles(dir: string): MaestroFiles {
  return {
    dir,
    ca: join(dir, 'tls', 'ca.pem'),
    cert: join(dir, 'tls', 'server.pem'),
    key: join(dir, 'tls', 'server-key.pem'),
    auth: join(dir, 'nats-auth.json'),
    apiToken: join(dir, 'api-token'),
    natsConfig: join(dir, 'nats.conf'),
    natsUsers: join(dir, 'nats-users.conf'),
    natsAgents: join(dir, 'nats-agents.json'),
    natsPid: join(dir, 'nats.pid'),
    natsStore: join(dir, 'nats'),
  };
}

export interface MaestroSettings {
  cluster: string;
  stackLabel: string;
  /** The DNS name on the server certificate; clients dialling an address check the certificate against it. */
  tlsName: string;
  /** Address NATS and the API listen on. */
  listen: string;
  natsPort: number;
  httpPort: number;
  heartbeatMs: number;
  files: MaestroFiles;
}

const configError = (message: string) => new KatapultError('KP_MAESTRO_CONFIG', message, { exitCode: ExitCode.badInput });

export function readMaestroSettings(env: NodeJS.ProcessEnv): MaestroSettings {
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) throw configError(`${name} is not set`);
    return value;
  };
  const port = (name: string, fallback: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > 65535) throw configError(`${name} must be a port number (1-65535), got "${raw}"`);
    return value;
  };
  const tlsName = required('KATAPULT_TLS_NAME');
  if (!isDnsName(tlsName)) {
    throw configError(`KATAPULT_TLS_NAME must be a DNS name, got "${tlsName}"`);
  }
  const natsPort = port('KATAPULT_NATS_PORT', 4222);
  const httpPort = port('KATAPULT_HTTP_PORT', 8443);
  if (natsPort === httpPort) throw configError(`KATAPULT_NATS_PORT and KATAPULT_HTTP_PORT are both ${natsPort}`);
  const heartbeatMs = Number(env['KATAPULT_HEARTBEAT_MS']?.trim() || 2000);
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < 100) throw configError(`KATAPULT_HEARTBEAT_MS must be an integer of at least 100, got "${env['KATAPULT_HEARTBEAT_MS']}"`);
  return {
    cluster: required('KATAPULT_CLUSTER'),
    stackLabel: required('KATAPULT_STACK_LABEL'),
    tlsName,
    listen: env['KATAPULT_LISTEN']?.trim() || '0.0.0.0',
    natsPort,
    httpPort,
    heartbeatMs,
    files: maestroFiles(env['KATAPULT_STATE_DIR']?.trim() || '/state'),
  };
}

/** `host:port` for a listen address; an IPv6 host goes in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Where this machine's own clients dial what listens on `listen`: loopback for a wildcard address. */
export function dialHost(listen: string): string {
  if (listen === '0.0.0.0' || listen === '') return '127.0.0.1';
  if (listen === '::' || listen === '[::]') return '::1';
  return listen;
}
