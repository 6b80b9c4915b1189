import { natsConnectionOptions } from '@katapult/core/light';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** Where the stack's NATS is and the credentials the CLI uses there. */
export interface NatsAccess {
  url: string;
  user: string;
  pass: string;
  /** The stack's CA certificate (PEM) when its NATS requires TLS. */
  ca?: string;
  /** The name the server certificate is checked against, when it is not the host dialled (a remote maestro). */
  tlsName?: string;
}

export function connectNats(access: NatsAccess, name = 'katapult-cli'): Promise<NatsConnection> {
  return connect(
    natsConnectionOptions({ url: access.url, user: access.user, password: access.pass, ca: access.ca, tlsName: access.tlsName }, { name }),
  );
}

/** Opens a NATS connection for one piece of work and closes it whatever happens. */
export async function withNats<T>(access: NatsAccess, work: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connectNats(access);
  try {
    return await work(nc);
  } finally {
    await nc.close();
  }
}
