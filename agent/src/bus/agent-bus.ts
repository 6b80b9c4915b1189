import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import {
  agentRecordCodec,
  assignmentCodec,
  assignedAttemptCodec,
  clusterNames,
  jobReportCodec,
  LOG_CHUNK_BYTES,
  LOG_CHUNK_MS,
  LOG_WINDOW,
  logRecordCodec,
  MIN_LOG_CHUNK_BYTES,
  natsConnectionOptions,
  stopRequestCodec,
  type StopRequest,
  type Assignment,
  type AssignedAttempt,
  type ClusterNames,
  type JobOutputs,
  type JobReport,
} from '@katapult/core';
import type { JobSink } from '../runner/job-runner.js';
import { retryUntilDone } from '../retry.js';
import { LogShipper } from './log-shipper.js';

export interface AgentBus {
  nc: NatsConnection;
  names: ClusterNames;
  heartbeat(running: Assignment[]): Promise<void>;
  /** Calls `onAssignment` for each assignment; the message is acked when the returned promise settles. */
  consumeAssignments(onAssignment: (assignment: Assignment) => Promise<void>): Promise<void>;
  /**
   * Takes no more assignments: the consumer stops, and one already received but not yet started is nak'd,
   * left to the coordinator. Assignments being run are untouched; each is still acked when its outcome is out.
   */
  stopTaking(): void;
  /** Deletes this agent's heartbeat entry, so the coordinator places nothing more on it and requeues what it had. */
  deregister(): Promise<void>;
  sinkFor(assignment: Assignment): BusJobSink;
  /** Calls `onStop` for each valid stop request addressed to this agent. */
  onStopRequest(onStop: (request: StopRequest) => void): void;
  close(): Promise<void>;
}

/** A job's sink on NATS; its log shipper is there to be looked at (what it holds), not to be written to. */
export interface BusJobSink extends JobSink {
  readonly shipper: LogShipper;
}

export interface AgentIdentity {
  natsUrl: string;
  natsUser?: string;
  natsPassword?: string;
  natsCa?: string;
  natsTlsName?: string;
  cluster: string;
  agentId: string;
  instanceId: string;
  cpus: number;
  gpus: number;
  instanceType?: string;
  pool?: string;
  log: (line: string) => void;
}

const ACK_WAIT_MS = 30_000;

export async function connectAgentBus(identity: AgentIdentity): Promise<AgentBus> {
  const names = clusterNames(identity.cluster);
  const nc = await connect(
    natsConnectionOptions(
      {
        url: identity.natsUrl,
        user: identity.natsUser,
        password: identity.natsPassword,
        ca: identity.natsCa,
        tlsName: identity.natsTlsName,
      },
      {
        name: `katapult-agent-${identity.agentId}`,
        service: true,
        // Its NATS user may be a moment away (the coordinator has just asked NATS to reload its users).
        waitOnFirstConnect: true,
        // Its replies come under a prefix of its own: its NATS user may hear no other (see agentPermissions).
        inboxPrefix: names.agentInboxPrefix(identity.agentId),
      },
    ),
  );
  const js = jetstream(nc);
  const agents: KV = await new Kvm(nc).open(names.buckets.agents);
  const startedAt = Date.now();
  let taking = true;
  let assignments: { stop(): void } | undefined;

  return {
    nc,
    names,
    async heartbeat(running) {
      const record = {
        v: 1 as const,
        agentId: identity.agentId,
        instanceId: identity.instanceId,
        cpus: identity.cpus,
        gpus: identity.gpus,
        ...(identity.instanceType ? { instanceType: identity.instanceType } : {}),
        ...(identity.pool ? { pool: identity.pool } : {}),
        startedAt,
        at: Date.now(),
        running: running.map(({ runId, jobId, attempt }) => ({ runId, jobId, attempt })),
      };
      await agents.put(identity.agentId, agentRecordCodec.encode(record));
    },
    async consumeAssignments(onAssignment) {
      const durable = names.agentConsumer(identity.agentId);
      const inFlight = new Set<string>();
      // The consumer can go while this agent lives: the coordinator removes the consumer of an agent it has not
      // heard from for a minute (a JetStream wedged by a full disk), and a restarted JetStream may have lost it.
      // Made again and read again, or the agent would heartbeat on, given jobs it never hears of.
      for (let delay = 500; taking && !nc.isClosed(); delay = Math.min(delay * 2, 5_000)) {
        try {
          // Inside the loop: jetstreamManager asks JetStream for the account, and an agent started while JetStream was
          // wedged (a full disk) saw that time out once and never made its consumer, heartbeating on, deaf (seen in
          // e2e/test/disk-full.test.ts: the replacement agent never heard its jobs).
          const jsm = await jetstreamManager(nc);
          await jsm.consumers.add(names.streams.assignments, {
            durable_name: durable,
            filter_subject: names.assignmentSubject(identity.agentId),
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
            ack_wait: nanos(ACK_WAIT_MS),
            max_ack_pending: 1000,
          });
          const consumer = await js.consumers.get(names.streams.assignments, durable);
          // Gone, it ends the loop below (by default nats.js would wait, silently, for someone to make it again).
          const messages = await consumer.consume({ max_messages: Math.max(4, identity.cpus * 2), abort_on_missing_resource: true });
          assignments = messages;
          if (!taking) messages.stop();
          for await (const message of messages) {
            delay = 500;
            if (!taking) {
              message.nak();
              continue;
            }
            const decoded = assignmentCodec.decode(message.data);
            if (!decoded.ok) {
              identity.log(`dropping a malformed assignment: ${decoded.error}`);
              const attempt = assignedAttemptCodec.decode(message.data);
              if (attempt.ok) {
                // Reported before the message is dropped, so the job fails with the reason instead of staying assigned.
                const sink = jobSink(js, names, identity, attempt.value, nc);
                void sink.startFailed(`the agent could not read its assignment: ${decoded.error}`).finally(() => message.term());
              } else message.term();
              continue;
            }
            const key = `${decoded.value.runId}.${decoded.value.jobId}.${decoded.value.attempt}`;
            if (inFlight.has(key)) continue; // a redelivery of an attempt this agent is already running
            inFlight.add(key);
            void runAcked(message, () => onAssignment(decoded.value)).finally(() => inFlight.delete(key));
          }
          if (taking) identity.log('the assignment consumer stopped; making it again');
        } catch (error) {
          if (!taking || nc.isClosed()) break;
          identity.log(`the assignment consumer failed (${String(error)}); making it again`);
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    },
    stopTaking() {
      taking = false;
      assignments?.stop();
    },
    async deregister() {
      await agents.delete(identity.agentId);
    },
    onStopRequest(onStop) {
      const subscription = nc.subscribe(names.stopSubject(identity.agentId));
      void (async () => {
        for await (const message of subscription) {
          const decoded = stopRequestCodec.decode(message.data);
          if (decoded.ok) onStop(decoded.value);
          else identity.log(`dropping a malformed stop request: ${decoded.error}`);
        }
      })();
    },
    sinkFor(assignment) {
      return jobSink(js, names, identity, assignment, nc);
    },
    async close() {
      await nc.drain();
    },
  };
}

/** Keeps the assignment from being redelivered while the job runs, and acks it only when the outcome is out. */
async function runAcked(message: JsMsg, work: () => Promise<void>): Promise<void> {
  const keepAlive = setInterval(() => message.working(), ACK_WAIT_MS / 3);
  try {
    await work();
    message.ack();
  } catch {
    message.nak(5_000);
  } finally {
    clearInterval(keepAlive);
  }
}

/** What a chunk may take of NATS's max payload beside its JSON: the message id header and some slack. */
const HEADER_ROOM_BYTES = 1024;

function jobSink(
  js: JetStreamClient,
  names: ClusterNames,
  identity: AgentIdentity,
  assignment: AssignedAttempt,
  nc: NatsConnection,
): BusJobSink {
  const { runId, jobId, attempt } = assignment;
  const logSubject = names.logSubject(runId, jobId, identity.agentId);
  const closed = () => nc.isClosed();
  const durably = (subject: string, data: Uint8Array, msgID: string) => publishDurably(js, subject, data, msgID, identity.log, closed);
  // The message id names the attempt and the chunk: a chunk sent again after a reconnect is stored once.
  const shipper = new LogShipper({
    attempt,
    maxBytes: Math.max(MIN_LOG_CHUNK_BYTES, Math.min(LOG_CHUNK_BYTES, (nc.info?.max_payload ?? LOG_CHUNK_BYTES * 2) - HEADER_ROOM_BYTES)),
    flushMs: LOG_CHUNK_MS,
    window: LOG_WINDOW,
    publish: (chunk, data) => durably(logSubject, data, `${runId}.${jobId}.${attempt}.log.${chunk.chunk}`),
  });
  const report = async (
    type: JobReport['type'],
    extra: { exitCode?: number; ranMs?: number; message?: string; outputs?: JobOutputs } = {},
  ) => {
    const message = { v: 1 as const, runId, jobId, attempt, agentId: identity.agentId, type, at: Date.now(), ...extra };
    await durably(
      names.eventSubject(identity.agentId, runId, jobId),
      jobReportCodec.encode(message),
      `${runId}.${jobId}.${attempt}.${type}`,
    );
  };
  return {
    shipper,
    report: (type, detail) => report(type, detail?.message === undefined ? {} : { message: detail.message }),
    exited: (exitCode, outputs, ranMs, timedOut) =>
      report('exited', {
        exitCode,
        ...(outputs ? { outputs } : {}),
        ...(ranMs === undefined ? {} : { ranMs }),
        ...(timedOut ? { timedOut: true } : {}),
      }),
    startFailed: (message) => report('start_failed', { message: message.slice(0, 4000) }),
    lost: () => report('lost'),
    logPiece: (piece) => shipper.write(piece),
    whenLogWritable: () => shipper.whenWritable(),
    logLine: (stream, line) => void shipper.write({ stream, text: line, at: Date.now(), ends: true }),
    endOfLog: async (exitCode) => {
      await shipper.end();
      const end = logRecordCodec.encode({ v: 1, attempt, eof: true, exitCode, at: Date.now() });
      await durably(logSubject, end, `${runId}.${jobId}.${attempt}.log.eof`);
    },
  };
}

/**
 * Publishes to JetStream until the server has stored the message, however long NATS is away: an outcome or a
 * log chunk is never dropped. The message id makes the stream discard the copy a retry might duplicate.
 */
function publishDurably(
  js: JetStreamClient,
  subject: string,
  data: Uint8Array,
  msgID: string,
  log: (line: string) => void,
  closed: () => boolean,
): Promise<void> {
  return retryUntilDone(() => js.publish(subject, data, { msgID, timeout: 5_000 }).then(() => undefined), {
    what: `storing ${subject}`,
    log,
    closed,
  });
}
