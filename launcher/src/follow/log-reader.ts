import { connectNats, type NatsAccess } from '../stack/nats.js';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  clusterNames,
  isFinal,
  logSenderVerdict,
  LogJoiner,
  logRecordCodec,
  type AttemptAgents,
  type ClusterNames,
  type JobState,
  type LogEntry,
  type LogRecord,
} from '@katapult/core';

const BATCH_MESSAGES = 256;
// How long a pull waits for new records before the reader reports it is caught up again (the minimum allowed).
const IDLE_WAIT_MS = 1_000;
// Records held per job while the view does not know their attempt's agent yet; past it the oldest are dropped.
const MAX_HELD = 10_000;

/** What the reader needs to know of a job to tell its attempts' own lines from lines other agents wrote. */
export type JobAttempts = AttemptAgents & { id: string; state: JobState };

export interface LogReadOptions {
  nats: NatsAccess;
  cluster: string;
  runId: string;
  /** One job's log; when absent, every job of the run, interleaved in the order the records were stored. */
  jobId?: string;
  /** The run's jobs as the coordinator sees them now: asked at the start, and again when a newer attempt shows up. */
  jobs: () => Promise<readonly JobAttempts[]>;
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
 * reading new records until `caughtUp` says to stop. The job of each record, and the agent that wrote it, are in
 * its subject; a record another agent than its attempt's wrote is dropped, and one of an attempt the view does
 * not know yet waits (with the rest of its job's) until the view is read again.
 */
export async function readLogs(options: LogReadOptions): Promise<void> {
  const names = clusterNames(options.cluster);
  const nc = await connectNats(options.nats, 'katapult-cli-logs');
  try {
    const consumer = await jetstream(nc).consumers.get(names.streams.logs, {
      // A single string (not a list) so nats-server 2.9, which knows only filter_subject, accepts it.
      filter_subjects:
        options.jobId === undefined ? names.runLogWildcard(options.runId) : await jobLogFilter(nc, names, options.runId, options.jobId),
      deliver_policy: DeliverPolicy.All,
    });
    const senders = new SenderCheck(options.jobs);
    await senders.refresh();
    const joiners = new Map<string, LogJoiner>();
    const accept = (job: string, record: LogRecord) => {
      const joiner = joiners.get(job) ?? joiners.set(job, new LogJoiner()).get(job)!;
      for (const entry of joiner.read(record)) options.onRecord(job, entry);
    };
    const caughtUp = async () => {
      for (const [job, record] of await senders.release()) accept(job, record);
      return options.caughtUp();
    };
    if ((await consumer.info(true)).num_pending === 0 && (await caughtUp())) return;
    for (;;) {
      const batch = await consumer.fetch({ max_messages: BATCH_MESSAGES, expires: IDLE_WAIT_MS });
      let received = 0;
      for await (const message of batch) {
        received += 1;
        const decoded = logRecordCodec.decode(message.data);
        const parts = names.logSubjectParts(message.subject);
        if (decoded.ok && parts && senders.admit(parts.jobId, decoded.value, parts.sender)) accept(parts.jobId, decoded.value);
        if (message.info.pending === 0 && (await caughtUp())) return;
      }
      if (received === 0 && (await caughtUp())) return;
    }
  } finally {
    await nc.close();
  }
}

/** The job's log subject: the old one for a job logged before subjects named their agent, else any agent's. */
async function jobLogFilter(nc: NatsConnection, names: ClusterNames, runId: string, jobId: string): Promise<string> {
  const legacy = names.legacyLogSubject(runId, jobId);
  const stream = await (await jetstreamManager(nc)).streams.info(names.streams.logs, { subjects_filter: legacy });
  return (stream.state.subjects?.[legacy] ?? 0) > 0 ? legacy : names.jobLogWildcard(runId, jobId);
}

/** Tells each record's writer from its attempt's agent (core's logSenderVerdict), holding those it cannot tell yet. */
class SenderCheck {
  private view = new Map<string, JobAttempts>();
  private readonly held = new Map<string, { record: LogRecord; sender: string | undefined }[]>();

  constructor(private readonly jobs: () => Promise<readonly JobAttempts[]>) {}

  async refresh(): Promise<void> {
    this.view = new Map((await this.jobs()).map((job) => [job.id, job]));
  }

  /** True to take the record now; false when it is dropped or held (after others of its job, kept in order). */
  admit(jobId: string, record: LogRecord, sender: string | undefined): boolean {
    const waiting = this.held.get(jobId);
    if (waiting) {
      if (waiting.push({ record, sender }) > MAX_HELD) waiting.shift();
      return false;
    }
    const verdict = this.verdict(jobId, record, sender);
    if (verdict === 'unknown') this.held.set(jobId, [{ record, sender }]);
    return verdict === 'ok';
  }

  /** Reads the view again if records wait, and gives back, in order, those it now takes. */
  async release(): Promise<[string, LogRecord][]> {
    if (this.held.size === 0) return [];
    await this.refresh();
    const taken: [string, LogRecord][] = [];
    for (const [jobId, waiting] of this.held) {
      while (waiting.length > 0) {
        const { record, sender } = waiting[0]!;
        const verdict = this.verdict(jobId, record, sender);
        // A job that has ended will never have the attempt its view does not know: those records are no one's.
        if (verdict === 'unknown' && !isFinal(this.view.get(jobId)?.state ?? 'done')) break;
        waiting.shift();
        if (verdict === 'ok') taken.push([jobId, record]);
      }
      if (waiting.length === 0) this.held.delete(jobId);
    }
    return taken;
  }

  private verdict(jobId: string, record: LogRecord, sender: string | undefined): 'ok' | 'forged' | 'unknown' {
    const job = this.view.get(jobId);
    return job ? logSenderVerdict(job, record.attempt, sender) : 'forged';
  }
}
