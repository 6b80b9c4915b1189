import { join } from 'node:path';
import { decodeMaestroEnv } from '@katapult/core';

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
  /** JetStream's store size, chosen at the maestro's first start and kept with the store (jetStreamStoreBytes). */
  natsMaxFileStore: string;
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
    natsMaxFileStore: join(dir, 'nats', 'max-file-store'),
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

export function readMaestroSettings(env: NodeJS.ProcessEnv): MaestroSettings {
  const { stateDir, ...settings } = decodeMaestroEnv(env);
  return { ...settings, files: maestroFiles(stateDir) };
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
