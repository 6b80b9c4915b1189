import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  isFinal,
  logSenderVerdict,
  LogJoiner,
  logRecordCodec,
  type AttemptAgents,
  type ClusterNames,
  type JobState,
  type LogEntry,
} from '@katapult/core';

export interface JobLogSource {
  /**
   * Passes each of a job's stored lines and ends to onRecord, in order (chunks unpacked, parts rejoined), then
   * each new one as it is stored, until the signal aborts. onRecord's promise is awaited before the next is
   * taken, so a slow reader slows the reading instead of piling records up in memory.
   */
  follow(runId: string, jobId: string, onRecord: (record: LogEntry) => Promise<void> | void, signal: AbortSignal): Promise<void>;
}

/** The job as stored now (its record), as far as telling its attempts' agents goes; undefined if there is none. */
export type JobLookup = (runId: string, jobId: string) => Promise<(AttemptAgents & { state: JobState }) | undefined>;

// How long a record of an attempt the job's record does not know yet waits before the record is read again.
const UNKNOWN_ATTEMPT_WAIT_MS = 250;

/**
 * Reads a job's log with one ordered JetStream consumer on its subjects, removed as soon as the follower stops.
 * Records are taken only from the agent their attempt was given to (the writer is in the subject; see core's
 * logSenderVerdict); one of an attempt the job's record does not know yet waits until it does, or is dropped once
 * the job has ended.
 */
export function jetStreamLogSource(nc: NatsConnection, names: ClusterNames, jobOf: JobLookup): JobLogSource {
  const js = jetstream(nc);
  return {
    async follow(runId, jobId, onRecord, signal) {
      if (signal.aborted) return;
      const legacy = names.legacyLogSubject(runId, jobId);
      const stored =
        (await (await jetstreamManager(nc)).streams.info(names.streams.logs, { subjects_filter: legacy })).state.subjects?.[legacy] ?? 0;
      const consumer = await js.consumers.get(names.streams.logs, {
        // A single string (not a list) so nats-server 2.9, which knows only filter_subject, accepts it.
        filter_subjects: stored > 0 ? legacy : names.jobLogWildcard(runId, jobId),
        deliver_policy: DeliverPolicy.All,
      });
      const messages = await consumer.consume();
      const stop = () => void messages.close();
      signal.addEventListener('abort', stop, { once: true });
      const joiner = new LogJoiner();
      let job = await jobOf(runId, jobId);
      const admitted = async (attempt: number, sender: string | undefined): Promise<boolean> => {
        for (;;) {
          const verdict = job ? logSenderVerdict(job, attempt, sender) : 'forged';
          if (verdict !== 'unknown') return verdict === 'ok';
          if (!job || isFinal(job.state) || signal.aborted) return false;
          await new Promise((resolve) => setTimeout(resolve, UNKNOWN_ATTEMPT_WAIT_MS));
          job = await jobOf(runId, jobId);
        }
      };
      try {
        if (signal.aborted) return;
        for await (const message of messages) {
          const decoded = logRecordCodec.decode(message.data);
          const sender = names.logSubjectParts(message.subject)?.sender;
          if (!decoded.ok || !(await admitted(decoded.value.attempt, sender))) continue;
          for (const entry of joiner.read(decoded.value)) {
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
