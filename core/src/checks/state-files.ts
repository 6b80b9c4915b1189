import Type, { type Static } from 'typebox';
import { parseJsonText, readBack } from './read-back.js';

/**
 * The files of a state folder (~/.katapult), as the launcher writes them and every later command reads them back.
 * Fields added later are optional: a state folder written by an older version still reads.
 */
const port = Type.Integer({ minimum: 1, maximum: 65_535 });
const pid = Type.Integer({ minimum: 1 });

export const ServerRecordSchema = Type.Object({ pid, port });
export type ServerRecord = Static<typeof ServerRecordSchema>;

/** Where the stack's NATS listens, and whether it speaks TLS: decided when it starts, kept for its life. */
export const NatsRecordSchema = Type.Object({
  pid,
  port,
  /** Absent on stacks started before it was kept: 127.0.0.1. */
  listen: Type.Optional(Type.String()),
  tls: Type.Optional(Type.Boolean()),
});
export type NatsRecord = Static<typeof NatsRecordSchema>;

/** <state>/stack.json: where the local stack's servers run. */
export const StackFileSchema = Type.Object({
  label: Type.String(),
  cluster: Type.String(),
  nats: NatsRecordSchema,
  /** Takes pushes, with the CLI's credentials (`auth`: started with them; absent on stacks from before). */
  registry: Type.Object({ pid, port, auth: Type.Optional(Type.Boolean()) }),
  /** The same images, read-only, for the agents' pull credentials; absent on stacks from before. */
  registryPull: Type.Optional(ServerRecordSchema),
  /** `registryPullHost`: the read-only registry it hands its agents; a change restarts it. */
  coordinator: Type.Optional(Type.Object({ pid, port, agentImage: Type.String(), registryPullHost: Type.Optional(Type.String()) })),
});
export type StackFile = Static<typeof StackFileSchema>;

/** <state>/remote.json: a stack whose NATS and coordinator run on a maestro instance. */
export const RemoteStackSchema = Type.Object({
  project: Type.String(),
  region: Type.Union([Type.String(), Type.Null()]),
  profile: Type.Union([Type.String(), Type.Null()]),
  instanceId: Type.String(),
  publicIp: Type.String(),
  privateIp: Type.String(),
  natsPort: port,
  httpPort: port,
  /** The name in the maestro's certificate, checked instead of the IP it is reached at. */
  tlsName: Type.String(),
  cluster: Type.String(),
  label: Type.String(),
});
export type RemoteStack = Static<typeof RemoteStackSchema>;

export const NatsUserSchema = Type.Object({ user: Type.String({ minLength: 1 }), pass: Type.String({ minLength: 1 }) });

/** nats-auth.json: the admin's NATS credentials (the CLI's and the coordinator's). */
export const NatsAuthFileSchema = Type.Object({ admin: NatsUserSchema });

/** The agents' NATS users a coordinator issued, by agent id (kept so a restarted one keeps them). */
export const IssuedAgentsSchema = Type.Record(Type.String(), NatsUserSchema);

/** ports.json: the ports a state folder's servers listened on, kept across `down`. */
export const StackPortsSchema = Type.Object({
  nats: Type.Optional(port),
  /** The registry the CLI pushes to, and its read-only twin agents pull from: both ports are in local image tags. */
  registry: Type.Optional(port),
  registryPull: Type.Optional(port),
  /** Every port either registry of this state folder has used, oldest first. */
  registryHistory: Type.Optional(Type.Array(port)),
});
export type StackPorts = Static<typeof StackPortsSchema>;

const RegistryUserSchema = Type.Object({ username: Type.String({ minLength: 1 }), password: Type.String({ minLength: 1 }) });
export type RegistryUser = Static<typeof RegistryUserSchema>;

/** registry-auth.json: the local registry's push (the CLI's) and pull (the agents') users. */
export const RegistryAuthSchema = Type.Object({ push: RegistryUserSchema, pull: RegistryUserSchema });
export type RegistryAuth = Static<typeof RegistryAuthSchema>;

/** tls/names.json: the extra names the stack's server certificate holds (maestro_address hosts). */
export const CertificateNamesSchema = Type.Array(Type.String());

const hint = 'it was changed by hand or by another version: remove it, or run katapult down';
const stateFile = <S extends Parameters<typeof readBack>[0]>(schema: S) => readBack(schema, 'KP_STATE_FILE', { hint });

/** The checks of the state folder's files, each failing as KP_STATE_FILE "<file>: <field> <what is wrong>". */
export const stateFiles = {
  stack: stateFile(StackFileSchema),
  remoteStack: stateFile(RemoteStackSchema),
  natsAuth: stateFile(NatsAuthFileSchema),
  ports: stateFile(StackPortsSchema),
  registryAuth: stateFile(RegistryAuthSchema),
  certificateNames: stateFile(CertificateNamesSchema),
};
export type StateFileKind = keyof typeof stateFiles;

/** A state file's text, checked: not JSON, or not of its schema, is one KP_STATE_FILE line. */
export function checkStateFile<K extends StateFileKind>(kind: K, text: string, file: string): ReturnType<(typeof stateFiles)[K]> {
  return stateFiles[kind](parseJsonText(text, file, 'KP_STATE_FILE', { hint }), file) as ReturnType<(typeof stateFiles)[K]>;
}
