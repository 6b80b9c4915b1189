import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterNames } from '@katapult/core';

export interface NatsCredentials {
  user: string;
  pass: string;
}

/** The CLI and the coordinator share `admin`; agents get `agent`, which cannot hand out work or touch job state. */
export interface NatsAuth {
  admin: NatsCredentials;
  agent: NatsCredentials;
}

/**
 * The stack's NATS credentials live in <state>/nats-auth.json, readable by this user only (0600), made when
 * the stack's NATS first starts and removed by `down`. They reach the coordinator and agents by environment.
 */
const authPath = (dir: string) => join(dir, 'nats-auth.json');

export function readNatsAuth(dir: string): NatsAuth | undefined {
  try {
    return JSON.parse(readFileSync(authPath(dir), 'utf8')) as NatsAuth;
  } catch {
    return undefined;
  }
}

export function ensureNatsAuth(dir: string): NatsAuth {
  const existing = readNatsAuth(dir);
  if (existing) return existing;
  const secret = () => randomBytes(24).toString('hex');
  const auth: NatsAuth = { admin: { user: 'katapult-admin', pass: secret() }, agent: { user: 'katapult-agent', pass: secret() } };
  writeFileSync(authPath(dir), `${JSON.stringify(auth, null, 2)}\n`, { mode: 0o600 });
  return auth;
}

export function removeNatsAuth(dir: string): void {
  rmSync(authPath(dir), { force: true });
}

/**
 * nats-server's configuration: 127.0.0.1 only, JetStream on disk, and no anonymous access. The agent user may
 * do what an agent does (heartbeat, take its assignments, report, log, read files, store outputs) but not
 * publish assignments or stop requests, write run or job records, or create, change, purge or delete streams.
 */
export function natsServerConfig(options: { port: number; storeDir: string; cluster: string; auth: NatsAuth }): string {
  const names = clusterNames(options.cluster);
  const { streams, buckets } = names;
  const deny = [
    names.assignmentWildcard,
    `${names.stopSubject('*')}`,
    `$KV.${buckets.runs}.>`,
    `$KV.${buckets.jobs}.>`,
    '$JS.API.STREAM.CREATE.>',
    '$JS.API.STREAM.UPDATE.>',
    '$JS.API.STREAM.DELETE.>',
    ...[streams.assignments, streams.events, streams.logs, `KV_${buckets.runs}`, `KV_${buckets.jobs}`, `KV_${buckets.agents}`].map(
      (stream) => `$JS.API.STREAM.PURGE.${stream}`,
    ),
    '$JS.API.CONSUMER.DELETE.>',
  ];
  const quoted = (value: string) => JSON.stringify(value);
  return [
    `listen: ${quoted(`127.0.0.1:${options.port}`)}`,
    `jetstream: { store_dir: ${quoted(options.storeDir)} }`,
    'authorization: {',
    '  users: [',
    `    { user: ${quoted(options.auth.admin.user)}, password: ${quoted(options.auth.admin.pass)} }`,
    `    { user: ${quoted(options.auth.agent.user)}, password: ${quoted(options.auth.agent.pass)}, permissions: { publish: { deny: [${deny.map(quoted).join(', ')}] } } }`,
    '  ]',
    '}',
    '',
  ].join('\n');
}
