import type { NatsConnection } from '@nats-io/transport-node';

/** Whether the coordinator can reach NATS now, and since when without a break. */
export interface NatsLink {
  readonly connected: boolean;
  readonly connectedSince: number;
}

export function watchNatsLink(nc: NatsConnection, now: () => number = Date.now, log: (line: string) => void = () => undefined): NatsLink {
  const link = { connected: true, connectedSince: now() };
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        link.connected = false;
        log('lost the connection to NATS; reconnecting');
      } else if (status.type === 'reconnect') {
        link.connected = true;
        link.connectedSince = now();
        log('reconnected to NATS; agents get a grace period to heartbeat again');
      }
    }
  })();
  return link;
}
