import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { objectDigest } from './digest.js';
import { publishChunks } from './publish-chunks.js';

/**
 * A file kept as the messages of one subject of a stream: its chunks, then an end record giving their number,
 * size and digest. Unlike an object store, whose descriptions all share one subject space, the subject is the
 * file's whole name, so NATS permissions can say who may write it (an agent: only under its own id). Each subject
 * is written once, by the one party allowed to, and never replaced or removed by it.
 */
const END_HEADER = 'Katapult-File-End';

export interface SubjectFileInfo {
  subject: string;
  size: number;
  chunks: number;
  /** `SHA-256=<base64url>`, as the object store writes digests. */
  digest: string;
}

const CHUNK_BYTES = 1 << 20;
const IN_FLIGHT = 4;
const CHUNKS_AT_ONCE = 8;

/** Stores `data` as the messages of `subject`, a few chunks in flight, reading it only as fast as NATS acknowledges. */
export async function putSubjectFile(
  nc: NatsConnection,
  subject: string,
  data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<SubjectFileInfo> {
  const chunkBytes = Math.min(CHUNK_BYTES, nc.info?.max_payload ?? CHUNK_BYTES);
  const info: SubjectFileInfo = { subject, ...(await publishChunks(nc, subject, data, chunkBytes, IN_FLIGHT)) };
  const end = headers();
  end.set(END_HEADER, '1');
  await jetstream(nc).publish(subject, JSON.stringify(info), { headers: end });
  return info;
}

/**
 * The bytes of the file stored on `subject` of `stream`, as a stream that reads no further ahead than its reader;
 * null if the subject holds nothing. The stream fails if the bytes do not match the end record, or there is none
 * (its writer died half-way).
 */
export async function getSubjectFile(nc: NatsConnection, stream: string, subject: string): Promise<Readable | null> {
  const jsm = await jetstreamManager(nc);
  const stored = (await jsm.streams.info(stream, { subjects_filter: subject })).state.subjects?.[subject] ?? 0;
  if (stored === 0) return null;
  const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: subject });
  const messages = await consumer.consume({ max_messages: CHUNKS_AT_ONCE });
  async function* storedMessages(): AsyncGenerator<FileMessage> {
    try {
      for await (const message of messages) {
        yield message;
        if (message.info.pending === 0) break;
      }
    } finally {
      messages.stop();
    }
  }
  return Readable.from(subjectFileBytes(subject, storedMessages()), { objectMode: false });
}

/** A message of a subject file: a chunk, or the end record (with its header). */
export interface FileMessage {
  data: Uint8Array;
  headers?: { get(name: string): string } | undefined;
}

/**
 * The bytes of the file whose messages these are, read no further ahead than asked for; then an error if they do
 * not match the end record, or there is none (its writer died half-way).
 */
export async function* subjectFileBytes(subject: string, messages: AsyncIterable<FileMessage>): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let size = 0;
  let chunks = 0;
  let info: SubjectFileInfo | undefined;
  for await (const message of messages) {
    if (message.headers?.get(END_HEADER)) {
      info = endRecord(subject, message.data);
      break;
    }
    hash.update(message.data);
    size += message.data.length;
    chunks += 1;
    yield message.data;
  }
  const digest = objectDigest(hash.digest());
  if (!info) throw new Error(`the file on ${subject} is incomplete: ${chunks} chunks (${size} bytes) and no end record`);
  if (info.size !== size || info.chunks !== chunks || info.digest !== digest) {
    throw new Error(
      `the file on ${subject} arrived corrupted: ${size} bytes with digest ${digest}, its end record says ${info.size} bytes with ${info.digest}`,
    );
  }
}

/** The end record as its writer published it; each field is then compared with what was read. */
function endRecord(subject: string, data: Uint8Array): SubjectFileInfo {
  let record: unknown;
  try {
    record = JSON.parse(new TextDecoder().decode(data));
  } catch {
    record = undefined;
  }
  const fields = (record ?? {}) as Partial<Record<keyof SubjectFileInfo, unknown>>;
  if (typeof fields.size !== 'number' || typeof fields.chunks !== 'number' || typeof fields.digest !== 'string')
    throw new Error(`the file on ${subject} has a malformed end record: it must be JSON with size, chunks and digest`);
  return { subject, size: fields.size, chunks: fields.chunks, digest: fields.digest };
}
