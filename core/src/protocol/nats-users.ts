import type { ClusterNames } from './subjects.js';

export interface NatsUser {
  user: string;
  pass: string;
}

export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
}

/**
 * What one agent may do on NATS, and nothing more: heartbeat under its own key, create and read its own
 * assignment consumer (filtered on its own subject, spelled out: a wildcard in a permission would let it give a
 * wildcard filter) and ack its messages, hear its own stop requests and exec sessions, publish reports and log
 * lines and its sessions' output, ask the coordinator for reads under its own id, and store its own attempts'
 * outputs under its own id. It reads a project file or another job's outputs only through a consumer the
 * coordinator created for one of its attempts (read-grants.ts): it may fetch from, look up and delete a consumer
 * whose name it was given, and create, list or look up none on the file store or the outputs stream, nor read
 * their messages directly (no STREAM.INFO, which lists subjects, no DIRECT.GET or STREAM.MSG.GET). It cannot
 * assign work, stop another agent's jobs, start an exec or read another agent's, write another agent's
 * heartbeat or outputs, write or purge the file store, touch run and job records, or hear replies meant for
 * other clients (its inbox has a prefix of its own).
 */
export function agentPermissions(names: ClusterNames, agentId: string): NatsPermissions {
  const api = '$JS.API';
  const assign = names.streams.assignments;
  const consumer = names.agentConsumer(agentId);
  const files = `OBJ_${names.fileStore}`;
  const outputs = names.streams.outputs;
  // A consumer granted by the coordinator, by its name: a `*` or `>` given as the name finds no consumer.
  const granted = (stream: string) => [
    `${api}.CONSUMER.INFO.${stream}.*`,
    `${api}.CONSUMER.MSG.NEXT.${stream}.*`,
    `${api}.CONSUMER.DELETE.${stream}.*`,
  ];
  return {
    publish: [
      `${api}.INFO`,
      `${api}.STREAM.INFO.KV_${names.buckets.agents}`,
      `$KV.${names.buckets.agents}.${agentId}`,
      `${api}.CONSUMER.CREATE.${assign}.${consumer}.${names.assignmentSubject(agentId)}`,
      `${api}.CONSUMER.INFO.${assign}.${consumer}`,
      `${api}.CONSUMER.MSG.NEXT.${assign}.${consumer}`,
      `$JS.ACK.${assign}.${consumer}.>`,
      // Reports only under its own id: what the coordinator takes as the sender.
      names.agentEventWildcard(agentId),
      // Log lines too: readers keep only those of the agent each attempt was given to.
      names.agentLogWildcard(agentId),
      // Output archives: written only under its own id.
      names.agentOutputWildcard(agentId),
      // The output of its own exec sessions only; it cannot start one anywhere (the admin does).
      names.agentExecOutputWildcard(agentId),
      // Reads of its attempts' inputs: asked of the coordinator, then fetched from the consumer it grants.
      names.readGrantSubject(agentId),
      ...granted(files),
      ...granted(outputs),
    ],
    subscribe: [`${names.agentInboxPrefix(agentId)}.>`, names.stopSubject(agentId), names.agentExecWildcard(agentId)],
  };
}

/** The `users` block of nats-server's configuration: the admin (CLI, coordinator) and one user per agent. */
export function natsUsersConfig(names: ClusterNames, admin: NatsUser, agents: Readonly<Record<string, NatsUser>>): string {
  const quoted = (value: string) => JSON.stringify(value);
  const list = (values: string[]) => `[${values.map(quoted).join(', ')}]`;
  const lines = [`users: [`, `  { user: ${quoted(admin.user)}, password: ${quoted(admin.pass)} }`];
  for (const [agentId, credentials] of Object.entries(agents).sort(([a], [b]) => a.localeCompare(b))) {
    const permissions = agentPermissions(names, agentId);
    lines.push(
      `  { user: ${quoted(credentials.user)}, password: ${quoted(credentials.pass)}, permissions: { publish: { allow: ${list(permissions.publish)} }, subscribe: { allow: ${list(permissions.subscribe)} } } }`,
    );
  }
  lines.push(']', '');
  return lines.join('\n');
}

export type NatsServerConfigOptions = NatsServerBase &
  (
    | {
        /** The users file, included by name: nats-server resolves it next to the configuration file. */
        usersInclude: string;
      }
    | {
        /** One user, in the file itself (the kept history's reader: no agents, no permissions). */
        user: NatsUser;
      }
  );

interface NatsServerBase {
  /** `host:port` the server listens on. */
  listen: string;
  /** Absent: none (a server that is never reloaded). */
  pidFile?: string;
  /** JetStream's store directory. */
  storeDir: string;
  /** With a certificate, every client must speak TLS. */
  tls?: { cert: string; key: string } | undefined;
  /** JetStream's store size (`max_file_store`); nats-server's default (75 % of the disk free at each start) when absent. */
  maxFileStoreBytes?: number | undefined;
}

/**
 * nats-server's configuration, shared by the local stack and the maestro: JetStream on disk, no anonymous access,
 * users from an included file (rewritten by the coordinator as it issues agent credentials).
 */
export function natsServerConfig(options: NatsServerConfigOptions): string {
  const quoted = (value: string) => JSON.stringify(value);
  return [
    `listen: ${quoted(options.listen)}`,
    ...(options.pidFile === undefined ? [] : [`pid_file: ${quoted(options.pidFile)}`]),
    `jetstream: { store_dir: ${quoted(options.storeDir)}${options.maxFileStoreBytes === undefined ? '' : `, max_file_store: ${options.maxFileStoreBytes}`} }`,
    ...('usersInclude' in options
      ? ['authorization: {', `  include ${quoted(options.usersInclude)}`, '}']
      : [`authorization: { user: ${quoted(options.user.user)}, password: ${quoted(options.user.pass)} }`]),
    ...(options.tls ? [`tls: { cert_file: ${quoted(options.tls.cert)}, key_file: ${quoted(options.tls.key)}, timeout: 2 }`] : []),
    '',
  ].join('\n');
}

/** The `max_file_store` a nats.conf written by natsServerConfig keeps; undefined when it sets none. */
export function maxFileStoreOf(config: string): number | undefined {
  const found = /^jetstream: \{.*\bmax_file_store: (\d+)/m.exec(config);
  return found ? Number(found[1]) : undefined;
}
