import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { grantObjectRead, grantSubjectRead, type ReadGrant } from '@katapult/object-files';
import { readGrantRefusal, readGrantReplyCodec, readGrantRequestCodec, type ClusterNames, type ReadGrantRequest } from '@katapult/core';
import type { Store } from './store/store.js';

/**
 * Answers agents asking to read an input of an attempt (read-grants.ts in core): a consumer of that input alone,
 * granted only to the agent the attempt is assigned to now, for an input the attempt names.
 */
export function serveReadGrants(nc: NatsConnection, names: ClusterNames, store: Store, log: (line: string) => void): Subscription {
  const refuse = (msg: Msg, message: string) => msg.respond(readGrantReplyCodec.encode({ v: 1, ok: false, message }));
  const answer = async (msg: Msg): Promise<void> => {
    const sender = names.readGrantSender(msg.subject);
    const decoded = readGrantRequestCodec.decode(msg.data);
    if (!sender || !decoded.ok) return void refuse(msg, decoded.ok ? `${msg.subject} is not a read request subject` : decoded.error);
    const request = decoded.value;
    const refusal = async () => readGrantRefusal((await store.getJob(request.runId, request.jobId))?.value, sender, request);
    // The job may have been assigned by a coordinator whose write this one has not seen yet (a restart).
    let refused = await refusal();
    if (refused) {
      await store.sync();
      refused = await refusal();
    }
    if (refused) {
      log(`refused ${sender} a read: ${refused}`);
      return void refuse(msg, refused);
    }
    const grant = await grantFor(nc, names, request);
    if (!grant) return void refuse(msg, `${request.object} is no longer stored`);
    msg.respond(readGrantReplyCodec.encode({ v: 1, ok: true, ...grant }));
  };
  return nc.subscribe(names.readGrantWildcard, {
    callback: (error, msg) => {
      if (error) return;
      answer(msg).catch((failure: unknown) => {
        log(`a read request on ${msg.subject} failed: ${String(failure)}`);
        refuse(msg, failure instanceof Error ? failure.message : String(failure));
      });
    },
  });
}

/** Output archives are in the outputs stream, or (stored before it) objects of the file store, as project files are. */
function grantFor(nc: NatsConnection, names: ClusterNames, request: ReadGrantRequest): Promise<ReadGrant | null> {
  return names.isOutputSubject(request.object)
    ? grantSubjectRead(nc, names.streams.outputs, request.object, request.after)
    : grantObjectRead(nc, names.fileStore, request.object, request.after);
}
