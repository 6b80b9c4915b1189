import { createHash } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { objectDigest } from './digest.js';
import { rechunk } from './rechunk.js';

export interface PublishedChunks {
  size: number;
  chunks: number;
  /** `SHA-256=<base64url, padded>`, as the object store writes digests. */
  digest: string;
}

/**
 * Publishes `data` to `subject` in chunks of `chunkBytes` with up to `inFlight` unacknowledged, reading it only as
 * fast as JetStream acknowledges, so memory holds a few chunks whatever the size. Throws the first refusal, once
 * every chunk sent has been answered, or the abort reason once `signal` aborts.
 */
export async function publishChunks(
  nc: NatsConnection,
  subject: string,
  data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  chunkBytes: number,
  inFlight: number,
  signal?: AbortSignal,
): Promise<PublishedChunks> {
  const js = jetstream(nc);
  const hash = createHash('sha256');
  let size = 0;
  let chunks = 0;
  let failure: Error | undefined;
  const pending = new Set<Promise<void>>();
  try {
    for await (const chunk of rechunk(data, chunkBytes)) {
      signal?.throwIfAborted();
      hash.update(chunk);
      size += chunk.length;
      chunks += 1;
      const ack: Promise<void> = js.publish(subject, chunk).then(
        () => void pending.delete(ack),
        (error: unknown) => {
          failure ??= error instanceof Error ? error : new Error(String(error));
          pending.delete(ack);
        },
      );
      pending.add(ack);
      if (pending.size >= inFlight) await Promise.race(pending);
      if (failure) throw failure;
    }
    signal?.throwIfAborted();
    await Promise.all(pending);
    if (failure) throw failure;
  } catch (error) {
    await Promise.allSettled(pending);
    throw error;
  }
  return { size, chunks, digest: objectDigest(hash.digest()) };
}
