import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, JetStreamApiError, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { agentRecordCodec, JETSTREAM_API_TIMEOUT_MS, jobKey, KatapultError, storeRecords, type JobRecord } from '@katapult/core';
import type { HeardAgent, RunRecord, Store } from './store.js';
import { ViewReads } from './view-reads.js';

// A watch delivers what a bucket holds in well under a second; 15 s without getting there, it has stalled.
const SYNC_MS = 15_000;
const STARTING_SYNC_MS = 300_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const encode = (value: unknown) => encoder.encode(JSON.stringify(value));
/**
 * A record of a bucket, checked (compiled: every record watched goes through it) before the view takes it. One that
 * is not JSON or not of its schema (written by hand, by another version) is logged and skipped: thrown, it would end
 * the watch, which replays the bucket and meets it again, for good.
 */
function decodeRecord<T>(
  check: (value: unknown, where: string) => T,
  bucket: string,
  entry: KvEntry,
  log: (line: string) => void,
): T | undefined {
  const where = `KV ${bucket} ${entry.key} (revision ${entry.revision})`;
  try {
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(entry.value));
    } catch {
      throw new KatapultError('KP_STORE_RECORD', `${where}: not JSON`);
    }
    return check(value, where);
  } catch (error) {
    if (!(error instanceof KatapultError)) throw error;
    log(`${error.toLine()}; skipped`);
    return undefined;
  }
}

export interface JetStreamStoreOptions {
  /** An agent whose heartbeat is older than this is gone: its entry expires from the bucket. */
  agentTtlMs: number;
  log?: (line: string) => void;
}

/**
 * Opens the store: runs and jobs are read once, in one pass (a KV watch replays each bucket's last values), into a
 * ClusterView kept current by this process's own writes and, at each sync, by what other writers stored (BucketReader);
 * reads come from it. Writes go to KV first (jobs compare-and-set), so a restarted coordinator, or a second one,
 * rebuilds the same view.
 */
export async function openJetStreamStore(
  nc: NatsConnection,
  names: { buckets: { runs: string; jobs: string; agents: string } },
  options: JetStreamStoreOptions,
): Promise<Store> {
  const kvm = new Kvm(jetstream(nc, { timeout: JETSTREAM_API_TIMEOUT_MS }));
  const jsm = await jetstreamManager(nc, { timeout: JETSTREAM_API_TIMEOUT_MS });
  const runs = await kvm.create(names.buckets.runs, { history: 1 });
  const jobs = await kvm.create(names.buckets.jobs, { history: 1 });
  const agents = await kvm.create(names.buckets.agents, { history: 1, ttl: options.agentTtlMs });
  const store = new JetStreamStore(
    jsm,
    runs,
    jobs,
    { kv: agents, bucket: names.buckets.agents, ttlMs: options.agentTtlMs },
    names.buckets,
    options.log ?? (() => undefined),
  );
  await store.start();
  return store;
}

/**
 * Keeps the view current with one bucket without reading this process's own writes back: at start the whole
 * bucket is read in one pass (a watch replaying each key's last value, stopped once caught up); after that, sync()
 * reads only from the first revision the view lacks, when other writers (a second coordinator, a test) stored
 * something. Own writes are known by the revisions their acks give (known()). A watch kept open instead would bring
 * every one of this process's writes back to it: 4 of a job's 25 messages.
 */
class BucketReader {
  /** Every revision up to here is in the view. */
  private seen = 0;
  /** Revisions above `seen` the view holds already (this process's writes). */
  private readonly held = new Set<number>();
  private reading: Promise<void> | undefined;

  constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    private readonly bucket: string,
    private readonly apply: (entry: KvEntry) => void,
    private readonly log: (line: string) => void,
  ) {}

  async start(): Promise<void> {
    // The first read is of the whole bucket: given longer.
    await this.sync(STARTING_SYNC_MS);
  }

  /** The view holds this revision already: a read need not bring it. */
  known(revision: number): void {
    if (revision <= this.seen) return;
    this.held.add(revision);
    while (this.held.delete(this.seen + 1)) this.seen++;
  }

  /** Resolves once the view holds everything the bucket held when called; fails if that read stalls for `timeoutMs`. */
  async sync(timeoutMs = SYNC_MS): Promise<void> {
    const { last_seq: last, messages } = (await this.jsm.streams.info(`KV_${this.bucket}`)).state;
    // Every record expired (the agents bucket, when no agent beat within its max age): a watch would bring nothing.
    if (messages === 0) return this.caughtUpTo(last);
    while (this.seen < last) {
      // One read at a time: a sync asked meanwhile waits for it, then reads what is left.
      this.reading ??= this.readUpTo(last, timeoutMs).finally(() => (this.reading = undefined));
      await this.reading;
    }
  }

  private async readUpTo(last: number, timeoutMs: number): Promise<void> {
    const watch = await this.kv.watch({ key: '>', ...(this.seen > 0 ? { resumeFromRevision: this.seen + 1 } : {}) });
    const timer = setTimeout(() => watch.stop(), timeoutMs);
    try {
      for await (const entry of watch) {
        this.apply(entry);
        this.seen = Math.max(this.seen, entry.revision);
        // Nothing pending: what is missing up to `last` was overwritten since (history 1), by what was just read.
        if (entry.revision >= last || entry.delta === 0) {
          this.seen = Math.max(this.seen, last);
          break;
        }
      }
    } finally {
      clearTimeout(timer);
      watch.stop();
    }
    if (this.seen < last) {
      this.log(
        `reading ${this.bucket} stopped at revision ${this.seen} of ${last} after ${timeoutMs / 1000} s; read again at the next sync`,
      );
      throw new Error(`reading ${this.bucket} fell behind (revision ${this.seen} of ${last})`);
    }
    this.caughtUpTo(this.seen);
  }

  /** The view holds every revision up to `last`. */
  private caughtUpTo(last: number): void {
    this.seen = Math.max(this.seen, last);
    for (const revision of this.held) if (revision <= this.seen) this.held.delete(revision);
    while (this.held.delete(this.seen + 1)) this.seen++;
  }
}

class JetStreamStore extends ViewReads {
  private readonly runsReader: BucketReader;
  private readonly jobsReader: BucketReader;
  private readonly agentsReader: BucketReader;
  /** Each agent's last heartbeat record as read, kept current by the heartbeats stored since the last read. */
  private readonly heard = new Map<string, HeardAgent>();

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly runs: KV,
    private readonly jobs: KV,
    private readonly agents: { kv: KV; bucket: string; ttlMs: number },
    private readonly buckets: { runs: string; jobs: string },
    private readonly log: (line: string) => void,
  ) {
    super();
    this.runsReader = new BucketReader(runs, jsm, buckets.runs, (entry) => this.takeRun(entry), log);
    this.jobsReader = new BucketReader(jobs, jsm, buckets.jobs, (entry) => this.takeJob(entry), log);
    this.agentsReader = new BucketReader(agents.kv, jsm, agents.bucket, (entry) => this.takeAgent(entry), log);
  }

  async start(): Promise<void> {
    await Promise.all([this.runsReader.start(), this.jobsReader.start(), this.agentsReader.start()]);
  }

  async sync(): Promise<void> {
    await Promise.all([this.runsReader.sync(), this.jobsReader.sync()]);
  }

  async putRun(run: RunRecord): Promise<void> {
    const revision = await this.runs.put(run.id, encode(run));
    this.view.putRun({ value: run, revision });
    this.runsReader.known(revision);
  }

  async createJob(job: JobRecord): Promise<void> {
    const revision = await this.jobs.create(jobKey(job.runId, job.id), encode(job));
    this.view.putJob({ value: job, revision });
    this.jobsReader.known(revision);
  }

  async updateJob(job: JobRecord, revision: number): Promise<boolean> {
    try {
      const next = await this.jobs.update(jobKey(job.runId, job.id), encode(job), revision);
      this.view.putJob({ value: job, revision: next });
      this.jobsReader.known(next);
      return true;
    } catch (error) {
      if (!isWrongRevision(error)) throw error;
      // Another writer got there first: read its version now, so the caller's next try starts from it.
      const entry = await this.jobs.get(jobKey(job.runId, job.id));
      if (entry) {
        this.takeJob(entry);
        this.jobsReader.known(entry.revision);
      }
      return false;
    }
  }

  /**
   * Reads only the heartbeats stored since the last call (a get per agent would cost a round trip per agent at
   * every tick). A record older than the bucket's TTL is gone, as the server's expiry, which sends no delete, has it.
   */
  async listAgents(): Promise<HeardAgent[]> {
    await this.agentsReader.sync();
    const oldest = Date.now() - this.agents.ttlMs;
    for (const [agentId, agent] of this.heard) if (agent.heardAt < oldest) this.heard.delete(agentId);
    return [...this.heard.values()];
  }

  private takeAgent(entry: KvEntry): void {
    const decoded = entry.operation === 'PUT' ? agentRecordCodec.decode(entry.value) : undefined;
    if (decoded?.ok) this.heard.set(entry.key, { ...decoded.value, heardAt: entry.created.getTime() });
    else this.heard.delete(entry.key);
  }

  private takeRun(entry: KvEntry): void {
    if (entry.operation !== 'PUT') return this.view.deleteRun(entry.key, entry.revision);
    const value = decodeRecord(storeRecords.run, this.buckets.runs, entry, this.log);
    if (value) this.view.putRun({ value, revision: entry.revision });
  }

  private takeJob(entry: KvEntry): void {
    const dot = entry.key.indexOf('.');
    // A read from a revision brings back this process's own writes after it, which the view holds already: not decoded again.
    if ((this.view.job(entry.key.slice(0, dot), entry.key.slice(dot + 1))?.revision ?? 0) >= entry.revision) return;
    if (entry.operation === 'PUT') {
      const value = decodeRecord(storeRecords.job, this.buckets.jobs, entry, this.log);
      if (value) this.view.putJob({ value, revision: entry.revision });
      return;
    }
    this.view.deleteJob(entry.key.slice(0, dot), entry.key.slice(dot + 1), entry.revision);
  }
}

/** JetStream's "wrong last sequence": the compare-and-set lost to another writer. */
function isWrongRevision(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === 10071;
}
