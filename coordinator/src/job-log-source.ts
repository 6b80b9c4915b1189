import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { LogJoiner, logRecordCodec, type ClusterNames, type LogEntry } from '@katapult/core';

export interface JobLogSource {
  /**
   * Passes each of a job's stored lines and ends to onRecord, in order (chunks unpacked, parts rejoined), then
   * each new one as it is stored, until the signal aborts. onRecord's promise is awaited before the next is
   * taken, so a slow reader slows the reading instead of piling records up in memory.
   */
  follow(runId: string, jobId: string, onRecord: (record: LogEntry) => Promise<void> | void, signal: AbortSignal): Promise<void>;
}

/** Reads a job's log with one ordered JetStream consumer on its subject, removed as soon as the follower stops. */
export function jetStreamLogSource(nc: NatsConnection, names: ClusterNames): JobLogSource {
  const js = jetstream(nc);
  return {
    async follow(runId, jobId, onRecord, signal) {
      if (signal.aborted) return;
      const consumer = await js.consumers.get(names.streams.logs, {
        // A single string (not a list) so nats-server 2.9, which knows only filter_subject, accepts it.
        filter_subjects: names.logSubject(runId, jobId),
        deliver_policy: DeliverPolicy.All,
      });
      const messages = await consumer.consume();
      const stop = () => void messages.close();
      signal.addEventListener('abort', stop, { once: true });
      const joiner = new LogJoiner();
      try {
        if (signal.aborted) return;
        for await (const message of messages) {
          const decoded = logRecordCodec.decode(message.data);
          for (const entry of decoded.ok ? joiner.read(decoded.value) : []) {
            await onRecord(entry);
            if (signal.aborted) break;
          }
          if (signal.aborted) break;
        }
      } finally {
        signal.removeEventListener('abort', stop);
        await messages.close();
        // Closing only stops delivery; the server would keep an ordered consumer for minutes of inactivity.
        await consumer.delete().catch(() => false);
      }
    },
  };
}
