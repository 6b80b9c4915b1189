/**
 * The options every Katapult process connects to NATS with, built in one place. Plain data shaped as nats.js's
 * ConnectionOptions (core imports no NATS client), so the coordinator, the agent and the CLI connect alike.
 */
export interface NatsEndpoint {
  url: string;
  user?: string | undefined;
  password?: string | undefined;
  /** The stack's CA certificate (PEM) when its NATS requires TLS. */
  ca?: string | undefined;
  /** The name the server certificate is checked against, when it is not the host dialled. */
  tlsName?: string | undefined;
}

export interface NatsClientRole {
  /** The connection's name, as NATS's monitoring shows it. */
  name: string;
  /** A service (coordinator, agent) reconnects for ever; a command's connection fails fast instead. */
  service?: boolean;
  /** Its NATS user may not exist yet (just added, NATS reloading its users): keep trying the first connection. */
  waitOnFirstConnect?: boolean;
  /** Replies come under this prefix, when the user may hear no other. */
  inboxPrefix?: string;
}

export interface NatsConnectionOptions {
  servers: string;
  name: string;
  user?: string;
  pass?: string;
  tls?: { ca: string; servername?: string };
  maxReconnectAttempts?: number;
  reconnectTimeWait?: number;
  noAsyncTraces?: boolean;
  waitOnFirstConnect?: boolean;
  inboxPrefix?: string;
}

export function natsConnectionOptions(endpoint: NatsEndpoint, role: NatsClientRole): NatsConnectionOptions {
  return {
    servers: endpoint.url,
    name: role.name,
    ...(endpoint.user ? { user: endpoint.user, pass: endpoint.password ?? '' } : {}),
    // nats.js hands extra TLS options to tls.connect, which checks the certificate against `servername` when given.
    ...(endpoint.ca ? { tls: { ca: endpoint.ca, ...(endpoint.tlsName ? { servername: endpoint.tlsName } : {}) } } : {}),
    ...(role.service
      ? {
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          // An Error (with its stack) made for every request and publish, in case it fails, cost an eighth of the
          // coordinator's CPU at sweep size (and an agent makes one per log chunk); failures still say what failed.
          noAsyncTraces: true,
        }
      : {}),
    ...(role.waitOnFirstConnect ? { waitOnFirstConnect: true } : {}),
    ...(role.inboxPrefix ? { inboxPrefix: role.inboxPrefix } : {}),
  };
}
