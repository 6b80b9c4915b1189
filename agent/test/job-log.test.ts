import Docker from 'dockerode';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImage } from '@katapult/images';
import { ensureStreams, jetStreamLogSource, openJetStreamStore } from '@katapult/coordinator';
import { requireDocker, startNats, tempDir, waitFor, type NatsServer } from '@katapult/testkit';
import {
  clusterNames,
  jobReportCodec,
  LOG_CHUNK_BYTES,
  LOG_WINDOW,
  logRecordCodec,
  type Assignment,
  type JobReport,
  type LogEntry,
} from '@katapult/core';
import { openJobFileStore, runJobAttempt, type JobFileStore } from '../src/index.js';
import { connectAgentBus, type AgentBus } from '../src/bus/agent-bus.js';

/** A job's output through the agent's real sink: Docker → chunks → JetStream → the coordinator's log reader. */
describe('job log in chunks', () => {
  const docker = new Docker();
  const names = clusterNames('job-log-test');
  const agentLog: string[] = [];
  let nats: NatsServer;
  let nc: NatsConnection;
  let bus: AgentBus;
  let files: JobFileStore;
  let image: string;
  let jobs = 0;

  beforeAll(async () => {
    await requireDocker();
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await ensureStreams(nc, names);
    await openJetStreamStore(nc, names, { agentTtlMs: 60_000 }); // the agents bucket the bus writes its heartbeat to
    bus = await connectAgentBus({
      natsUrl: nats.url,
      cluster: names.cluster,
      agentId: 'log-0',
      instanceId: 'log-0',
      cpus: 1,
      gpus: 0,
      log: (line) => agentLog.push(line),
    });
    files = await openJobFileStore(bus.nc, names, 'log-0', await tempDir('job-log-cache'));
    image = (await ensureBaseImage(docker)).ref;
  }, 300_000);
  afterAll(async () => {
    await bus?.close();
    await nc?.close();
    await nats?.stop();
  });

  const assignment = (runCommand: string): Assignment => ({
    v: 1,
    runId: `r-job-log-${process.pid}`,
    jobId: `job-${++jobs}`,
    attempt: 1,
    image,
    runCommand,
    cpus: 1,
    memoryBytes: null,
    network: 'none',
    files: [],
    outputFiles: [],
  });

  /** Every line of the job's log as the coordinator's reader gives it, up to its end. */
  async function storedLog(job: Assignment): Promise<{ lines: LogEntry[]; exitCode: number | null }> {
    const lines: LogEntry[] = [];
    let exitCode: number | null = null;
    const stop = new AbortController();
    await jetStreamLogSource(nc, names, async () => ({ attempt: job.attempt, agentId: 'log-0', state: 'running' })).follow(
      job.runId,
      job.jobId,
      (entry) => {
        if (!('eof' in entry)) lines.push(entry);
        else {
          exitCode = entry.exitCode;
          stop.abort();
        }
      },
      stop.signal,
    );
    return { lines, exitCode };
  }

  /** The job's reports, as the coordinator would read them. */
  async function reports(job: Assignment): Promise<JobReport[]> {
    const consumer = await jetstream(nc).consumers.get(names.streams.events, {
      filter_subjects: names.eventSubject('log-0', job.runId, job.jobId),
      deliver_policy: DeliverPolicy.All,
    });
    const found: JobReport[] = [];
    const pending = (await consumer.info(true)).num_pending;
    for await (const message of await consumer.fetch({ max_messages: pending, expires: 1_000 })) {
      const decoded = jobReportCodec.decode(message.data);
      if (decoded.ok) found.push(decoded.value);
      if (message.info.pending === 0) break;
    }
    return found;
  }

  /** The chunk numbers stored on the job's log subject, in stored order. */
  async function storedChunks(job: Assignment): Promise<number[]> {
    const consumer = await jetstream(nc).consumers.get(names.streams.logs, {
      filter_subjects: names.jobLogWildcard(job.runId, job.jobId),
      deliver_policy: DeliverPolicy.All,
    });
    const chunks: number[] = [];
    let pending = (await consumer.info(true)).num_pending;
    while (pending > 0) {
      for await (const message of await consumer.fetch({ max_messages: pending, expires: 1_000 })) {
        const decoded = logRecordCodec.decode(message.data);
        if (decoded.ok && decoded.value.v === 2) chunks.push(decoded.value.chunk);
        pending = message.info.pending;
        if (pending === 0) break;
      }
    }
    return chunks;
  }

  const run = (job: Assignment) => {
    const sink = bus.sinkFor(job);
    return { sink, done: runJobAttempt(docker, job, sink, { agentId: 'log-0', stackLabel: `kptest-log${process.pid}`, files }) };
  };

  it('replays a 100,000-line job complete and in order, stdout and stderr apart, times in order', async () => {
    const job = assignment('seq 1 50000; echo middle >&2; seq 50001 100000');
    const { sink, done } = run(job);
    await done;
    const { lines, exitCode } = await storedLog(job);
    expect(exitCode).toBe(0);
    const stdout = lines.filter((line) => 'stream' in line && line.stream === 'stdout').map((line) => ('line' in line ? line.line : ''));
    expect(stdout).toEqual(Array.from({ length: 100_000 }, (_, index) => String(index + 1)));
    expect(lines.filter((line) => 'stream' in line && line.stream === 'stderr').map((line) => ('line' in line ? line.line : ''))).toEqual([
      'middle',
    ]);
    const times = lines.map((line) => line.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // In chunks, not a message a line.
    expect(sink.shipper.peakBufferedBytes).toBeGreaterThan(0);
    const info = await (await jetstreamManager(nc)).streams.info(names.streams.logs);
    expect(info.state.messages).toBeLessThan(2_000);
    // The exit carries the container's own run time, which the job's duration is made of.
    const exited = (await reports(job)).find((report) => report.type === 'exited');
    expect(exited).toMatchObject({ exitCode: 0, ranMs: expect.any(Number) });
  }, 180_000);

  it('chunks sent again when NATS stalls past their publish timeout are stored once, in order', async () => {
    const job = assignment('seq 1 200000');
    const { sink, done } = run(job);
    await waitFor(() => sink.shipper.peakBufferedBytes > 0, { what: 'the first output', timeoutMs: 60_000 });
    const retriesBefore = agentLog.filter((line) => line.includes('retrying until NATS is back')).length;
    nats.pause();
    try {
      await waitFor(() => agentLog.filter((line) => line.includes('retrying until NATS is back')).length > retriesBefore, {
        what: 'a chunk to be sent again',
        timeoutMs: 60_000,
      });
    } finally {
      nats.resume();
    }
    await done;
    const { lines, exitCode } = await storedLog(job);
    expect(exitCode).toBe(0);
    expect(lines.map((line) => ('line' in line ? line.line : ''))).toEqual(
      Array.from({ length: 200_000 }, (_, index) => String(index + 1)),
    );
    const chunks = await storedChunks(job);
    expect(new Set(chunks).size).toBe(chunks.length);
    expect(Math.max(...chunks)).toBe(chunks.length);
  }, 180_000);

  it('a 3 MB line, above NATS max payload, arrives whole, and the lines around it too', async () => {
    const job = assignment("echo before; head -c 3145728 /dev/zero | tr '\\0' x; echo; echo after");
    await run(job).done;
    const { lines, exitCode } = await storedLog(job);
    expect(exitCode).toBe(0);
    expect(lines.map((line) => ('line' in line ? line.line : ''))).toEqual(['before', 'x'.repeat(3 * 1024 * 1024), 'after']);
  }, 180_000);

  it('holds a bounded number of bytes while a job floods stdout and NATS stalls, and loses nothing', async () => {
    const text = '0123456789abcdefghijklmnopqrstuvwxyz'.repeat(3);
    const count = 300_000;
    const job = assignment(`yes ${text} | head -n ${count}`);
    const { sink, done } = run(job);
    await waitFor(() => sink.shipper.peakBufferedBytes > 0, { what: 'the first output', timeoutMs: 60_000 });
    nats.pause();
    try {
      // The window fills; from then on the agent reads no more of the container until NATS takes chunks again.
      await waitFor(() => sink.shipper.heldBack > 0, { what: 'the log window to fill', timeoutMs: 60_000 });
    } finally {
      nats.resume();
    }
    await done;
    const bound = (LOG_WINDOW + 3) * LOG_CHUNK_BYTES;
    expect(sink.shipper.peakBufferedBytes).toBeLessThanOrEqual(bound);
    expect(count * (text.length + 1)).toBeGreaterThan(30 * bound);
    const { lines, exitCode } = await storedLog(job);
    expect(exitCode).toBe(0);
    expect(lines.length).toBe(count);
    expect(lines.every((line) => 'line' in line && line.line === text)).toBe(true);
  }, 240_000);
});
