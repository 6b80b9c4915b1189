import { connect, type NatsConnection } from '@nats-io/transport-node';

/** Opens a NATS connection for one piece of work and closes it whatever happens. */
export async function withNats<T>(url: string, work: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url, name: 'katapult-cli' });
  try {
    return await work(nc);
  } finally {
    await nc.close();
  }
}
