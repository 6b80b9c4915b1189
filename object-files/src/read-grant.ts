import { Readable } from 'node:stream';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { nanos, nuid, type NatsConnection } from '@nats-io/transport-node';
import { checkedObjectBytes } from './get-object.js';
import { subjectFileBytes } from './subject-file.js';
import { bucketStream, chunkSubject } from './subjects.js';

/**
 * A read handed to a party that may create no consumer itself: a consumer with a name it cannot guess, filtered
 * on one file's messages, which it fetches from and deletes. The party that creates it decides who may read what.
 */
export interface ReadGrant {
  stream: string;
  consumer: string;
  /** How many messages it delivers. */
  messages: number;
  /** An object store object's size and digest, which its bytes are checked against. */
  size?: number;
  digest?: string;
}

/** Asks for the same file again, from after the stream sequence `after` (messages went missing on the way). */
export type Regrant = (after: number) => Promise<ReadGrant>;

// A consumer nobody fetches from for this long is removed by the server: an agent that died half-way leaves none.
const GRANT_IDLE_MS = 5 * 60_000;
// As getObject: 8 chunks asked at once, and the next 8 asked for while they are read (16 MiB at most).
const CHUNKS_AT_ONCE = 8;
const FETCHES_AHEAD = 2;
// A fetch is answered, or sends heartbeats: two missed (the consumer or the connection is gone) end it in a few seconds.
const FETCH_EXPIRES_MS = 30_000;
const FETCH_HEARTBEAT_MS = 2_000;
// Grants in a row that deliver nothing before the read gives up.
const FRUITLESS_GRANTS = 5;

/** A grant of the object `name` of `bucket` (from after stream sequence `after`); null if there is no such object. */
export async function grantObjectRead(nc: NatsConnection, bucket: string, name: string, after?: number): Promise<ReadGrant | null> {
  const info = await (await new Objm(nc).open(bucket)).info(name);
  if (!info || info.deleted) return null;
  if (info.options?.link) throw new Error(`the object ${name} is a link, which Katapult does not make`);
  const stream = bucketStream(bucket);
  const granted = await grantConsumer(nc, stream, chunkSubject(bucket, info.nuid), after);
  // A reader would wait for chunks that are not there.
  if (after === undefined && granted.messages !== info.chunks) {
    throw new Error(`the object ${name} is incomplete: ${granted.messages} of its ${info.chunks} chunks are stored`);
  }
  return { stream, ...granted, size: info.size, digest: info.digest };
}

/** A grant of the file on `subject` of `stream` (putSubjectFile); null if the subject holds nothing. */
export async function grantSubjectRead(nc: NatsConnection, stream: string, subject: string, after?: number): Promise<ReadGrant | null> {
  const granted = await grantConsumer(nc, stream, subject, after);
  if (granted.messages === 0 && after === undefined) {
    await deleteQuietly(nc, stream, granted.consumer);
    return null;
  }
  return { stream, ...granted };
}

async function grantConsumer(
  nc: NatsConnection,
  stream: string,
  subject: string,
  after: number | undefined,
): Promise<{ consumer: string; messages: number }> {
  const info = await (
    await jetstreamManager(nc)
  ).consumers.add(stream, {
    name: `grant_${nuid.next()}`,
    filter_subject: subject,
    // No acks: the reader checks the consumer's sequence instead, and asks again from where a gap began.
    ack_policy: AckPolicy.None,
    ...(after === undefined
      ? { deliver_policy: DeliverPolicy.All }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 }),
    inactive_threshold: nanos(GRANT_IDLE_MS),
    mem_storage: true,
  });
  return { consumer: info.name, messages: info.num_pending };
}

/** The granted object's bytes, read no further ahead than the reader; the stream fails if they do not match its size and digest. */
export function readGrantedObject(nc: NatsConnection, name: string, grant: ReadGrant, regrant: Regrant): Readable {
  const data = async function* (): AsyncGenerator<Uint8Array> {
    for await (const message of grantedMessages(nc, grant, regrant)) yield message.data;
  };
  if (grant.size === undefined || grant.digest === undefined)
    throw new Error(`the grant of ${name} gives no size and digest to check it against`);
  return Readable.from(checkedObjectBytes({ name, size: grant.size, digest: grant.digest }, data()), { objectMode: false });
}

/** The granted subject file's bytes (putSubjectFile), read no further ahead than the reader; the stream fails if they do not match its end record. */
export function readGrantedSubjectFile(nc: NatsConnection, subject: string, grant: ReadGrant, regrant: Regrant): Readable {
  return Readable.from(subjectFileBytes(subject, grantedMessages(nc, grant, regrant)), { objectMode: false });
}

/**
 * The granted consumer's messages in order. Nothing is acked, so a message lost on the way (a reconnect) is not
 * sent again: the consumer's sequence then skips one, or a fetch brings nothing, and the read goes on from a new
 * grant after the last message it got, as nats.js's ordered consumers do.
 */
export async function* grantedMessages(nc: NatsConnection, first: ReadGrant, regrant: Regrant): AsyncGenerator<JsMsg> {
  let grant = first;
  let last = 0;
  let fruitless = 0;
  for (;;) {
    const read = yield* readOneGrant(nc, grant, (sequence) => {
      last = sequence;
      fruitless = 0;
    });
    if (read === 'done') return;
    fruitless += 1;
    if (fruitless >= FRUITLESS_GRANTS) throw new Error(`reading ${grant.stream}: ${fruitless} grants in a row delivered nothing (${read})`);
    grant = await regrant(last);
  }
}

async function* readOneGrant(
  nc: NatsConnection,
  grant: ReadGrant,
  read: (sequence: number) => void,
): AsyncGenerator<JsMsg, 'done' | string> {
  let delivered = 0;
  // Fetches asked for and not yet read: the next one is asked for while the last is read, so the bytes never
  // wait on a round trip to the server (the server answers pull requests in the order they came).
  const fetches: Promise<FetchedBatch>[] = [];
  try {
    if (grant.messages === 0) return 'done';
    const consumer = await jetstream(nc).consumers.get(grant.stream, grant.consumer);
    let asked = 0;
    const askMore = () => {
      while (fetches.length < FETCHES_AHEAD && asked < grant.messages) {
        const count = Math.min(CHUNKS_AT_ONCE, grant.messages - asked);
        asked += count;
        const batch = consumer.fetch({ max_messages: count, expires: FETCH_EXPIRES_MS, idle_heartbeat: FETCH_HEARTBEAT_MS });
        // Read in turn, or stopped unread when the read ends early: its failure is seen, or does not matter, then.
        batch.catch(() => undefined);
        fetches.push(batch);
      }
    };
    while (delivered < grant.messages) {
      askMore();
      let batch: FetchedBatch;
      try {
        batch = await fetches.shift()!;
      } catch (error) {
        return String(error);
      }
      let got = 0;
      const messages = batch[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<JsMsg>;
        try {
          next = await messages.next();
        } catch (error) {
          return String(error);
        }
        if (next.done) break;
        if (next.value.info.deliverySequence !== delivered + 1) {
          batch.stop();
          return `message ${delivered + 1} went missing`;
        }
        delivered += 1;
        got += 1;
        read(next.value.seq);
        yield next.value;
      }
      if (got === 0) return `nothing came in ${FETCH_EXPIRES_MS / 1000} s`;
    }
    return 'done';
  } catch (error) {
    // The consumer is gone (idle too long) or NATS is: a new grant will say which.
    return String(error);
  } finally {
    for (const batch of fetches)
      batch.then(
        (unread) => unread.stop(),
        () => undefined,
      );
    await deleteQuietly(nc, grant.stream, grant.consumer);
  }
}

type FetchedBatch = Awaited<ReturnType<Awaited<ReturnType<ReturnType<typeof jetstream>['consumers']['get']>>['fetch']>>;

// A consumer left behind goes by itself once idle: failing to delete it now must not hide what happened.
async function deleteQuietly(nc: NatsConnection, stream: string, consumer: string): Promise<void> {
  try {
    await (await jetstreamManager(nc)).consumers.delete(stream, consumer);
  } catch {
    // see above
  }
}
