import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { grantObjectRead, grantSubjectRead } from '@katapult/object-files';
import { readGrantReplyCodec, readGrantRequestCodec, type ClusterNames } from '@katapult/core';

/**
 * The coordinator's read grants without its check of who asks (coordinator/src/read-grants.ts does that, tested
 * end to end with real credentials): every read asked is granted, as the coordinator grants the honest agent's.
 */
export function grantEveryRead(nc: NatsConnection, names: ClusterNames): Subscription {
  return nc.subscribe(names.readGrantWildcard, {
    callback: (_error, msg) => {
      const request = readGrantRequestCodec.decode(msg.data);
      if (!request.ok) throw new Error(request.error);
      const { object, after } = request.value;
      const granted = names.isOutputSubject(object)
        ? grantSubjectRead(nc, names.streams.outputs, object, after)
        : grantObjectRead(nc, names.fileStore, object, after);
      void granted.then(
        (grant) =>
          msg.respond(
            readGrantReplyCodec.encode(
              grant ? { v: 1, ok: true, ...grant } : { v: 1, ok: false, message: `${object} is no longer stored` },
            ),
          ),
        (error: unknown) => msg.respond(readGrantReplyCodec.encode({ v: 1, ok: false, message: String(error) })),
      );
    },
  });
}
