import { connectNats, type NatsAccess } from './nats.js';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { clusterNames, LogJoiner, logRecordCodec, type LogEntry } from '@katapult/core';

const BATCH_MESSAGES = 256;
// How long a pull waits for new records before the reader reports it is caught up again (the minimum allowed).
const IDLE_WAIT_MS = 1_000;

export interface LogReadOptions {
  nats: NatsAccess;
  cluster: string;
  runId: string;
  /** One job's log; when absent, every job of the run, interleaved in the order the records were stored. */
  jobId?: string;
  /** Each line and end of a job's log, in order: chunks unpacked, a long line's parts rejoined. */
  onRecord: (job: string, record: LogEntry) => void;
  /**
   * Called each time every record stored so far has been passed to onRecord, and again after each idle wait
   * while following; resolve true to stop reading.
   */
  caughtUp: () => Promise<boolean>;
}

/**
 * Replays a run's (or one job's) log from its first record with one ordered JetStream consumer, then keeps
 * reading new records until `caughtUp` says to stop. The job of each record is the last token of its subject.
 */
export async function readLogs(options: LogReadOptions): Promise<void> {
  const names = clusterNames(options.cluster);
  const subjectPrefix = names.logSubject(options.runId, '');
  const nc = await connectNats(options.nats, 'katapult-cli-logs');
  try {
    const consumer = await jetstream(nc).consumers.get(names.streams.logs, {
      // A single string (not a list) so nats-server 2.9, which knows only filter_subject, accepts it.
      filter_subjects: options.jobId === undefined ? names.runLogWildcard(options.runId) : names.logSubject(options.runId, options.jobId),
      deliver_policy: DeliverPolicy.All,
    });
    const joiners = new Map<string, LogJoiner>();
    if ((await consumer.info(true)).num_pending === 0 && (await options.caughtUp())) return;
    for (;;) {
      const batch = await consumer.fetch({ max_messages: BATCH_MESSAGES, expires: IDLE_WAIT_MS });
      let received = 0;
      for await (const message of batch) {
        received += 1;
        const decoded = logRecordCodec.decode(message.data);
        const job = message.subject.slice(subjectPrefix.length);
        if (decoded.ok) {
          const joiner = joiners.get(job) ?? joiners.set(job, new LogJoiner()).get(job)!;
          for (const entry of joiner.read(decoded.value)) options.onRecord(job, entry);
        }
        if (message.info.pending === 0 && (await options.caughtUp())) return;
      }
      if (received === 0 && (await options.caughtUp())) return;
    }
  } finally {
    await nc.close();
  }
}
