import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm, type ObjectInfo } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { objectDigest } from './digest.js';
import { bucketStream, chunkSubject } from './subjects.js';

export interface ObjectRead {
  info: ObjectInfo;
  /** The object's bytes; it fails (and never ends) if they do not match the digest its description gives. */
  data: Readable;
}

// Chunks asked of the server at once. nats.js's get pushes the whole object as fast as the server sends it,
// however slowly it is read, so a big file sits in memory; pulled 8 at a time (8 MiB at 1 MiB chunks) it moves
// no faster than it is written out, and as fast as nats.js's get otherwise (measured: fewer is slower).
const CHUNKS_AT_ONCE = 8;

/** The object named, as a stream that reads no further ahead than its reader; null if there is none. */
export async function getObject(nc: NatsConnection, bucket: string, name: string): Promise<ObjectRead | null> {
  const info = await (await new Objm(nc).open(bucket)).info(name);
  if (!info || info.deleted) return null;
  if (info.options?.link) throw new Error(`the object ${name} is a link, which Katapult does not make`);
  const stored = await storedChunks(nc, bucket, info.nuid);
  // A reader would wait forever for chunks that are not there.
  if (stored !== info.chunks) throw new Error(`the object ${name} is incomplete: ${stored} of its ${info.chunks} chunks are stored`);
  return { info, data: Readable.from(chunksOf(nc, bucket, info), { objectMode: false }) };
}

async function storedChunks(nc: NatsConnection, bucket: string, nuid: string): Promise<number> {
  const subject = chunkSubject(bucket, nuid);
  const stream = await (await jetstreamManager(nc)).streams.info(bucketStream(bucket), { subjects_filter: subject });
  return stream.state.subjects?.[subject] ?? 0;
}

async function* chunksOf(nc: NatsConnection, bucket: string, info: ObjectInfo): AsyncGenerator<Uint8Array> {
  if (info.size === 0) return yield* checkedObjectBytes(info, []);
  // An ordered consumer (with one subject, filter_subject: servers before 2.10 know no other) that is gone once read.
  const consumer = await jetstream(nc).consumers.get(bucketStream(bucket), { filter_subjects: chunkSubject(bucket, info.nuid) });
  const messages = await consumer.consume({ max_messages: CHUNKS_AT_ONCE });
  async function* data(): AsyncGenerator<Uint8Array> {
    try {
      for await (const message of messages) {
        yield message.data;
        if (message.info.pending === 0) break;
      }
    } finally {
      messages.stop();
    }
  }
  yield* checkedObjectBytes(info, data());
}

/** The chunks as they come, then an error if they do not add up to the size and digest the object's description gives. */
export async function* checkedObjectBytes(
  info: Pick<ObjectInfo, 'name' | 'size' | 'digest'>,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    size += chunk.length;
    yield chunk;
  }
  const digest = objectDigest(hash.digest());
  if (size !== info.size || digest !== info.digest) {
    throw new Error(
      `the object ${info.name} arrived corrupted: ${size} bytes with digest ${digest}, its description says ${info.size} bytes with ${info.digest}`,
    );
  }
}
