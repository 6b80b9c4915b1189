import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, JetStreamApiError, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { agentRecordCodec, JETSTREAM_API_TIMEOUT_MS, jobKey, KatapultError, storeRecords, type JobRecord } from '@katapult/core';
import type { HeardAgent, RunRecord, Store } from './store.js';
import { ViewReads } from './view-reads.js';
import { inParallel } from '../pipeline.js';

// A watch delivers what a bucket holds in well under a second; 15 s behind, it has stalled.
const SYNC_MS = 15_000;
const STARTING_SYNC_MS = 300_000;
const AGENT_READS_IN_FLIGHT = 64;

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
 * ClusterView kept current by the same watch and by this process's own writes; reads come from it. Writes go to
 * KV first (jobs compare-and-set), so a restarted coordinator, or a second one, rebuilds the same view.
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
    { kv: agents, bucket: names.buckets.agents },
    names.buckets,
    options.log ?? (() => undefined),
    () => nc.isClosed(),
  );
  await store.start();
  return store;
}

/** Follows one bucket with a watch, and tells when everything written to it before a moment has been seen. */
class BucketFollower {
  private seen = 0;
  private waiters: { revision: number; resolve: () => void }[] = [];
  private watch: { stop(): void } | undefined;
  private stopped = false;

  constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    private readonly bucket: string,
    private readonly apply: (entry: KvEntry) => void,
    private readonly log: (line: string) => void,
    private readonly closed: () => boolean,
  ) {}

  async start(): Promise<void> {
    void this.follow();
    // The first replay reads the whole bucket: given longer.
    await this.sync(STARTING_SYNC_MS);
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Resolves once the watch has delivered every entry the bucket held when called. A watch that does not get
   * there within SYNC_MS has stalled (seen after nats-server was killed and restarted under it: it then delivers
   * nothing, and every tick would wait on it for good): it is made again, replaying the bucket, and this fails.
   */
  async sync(timeoutMs = SYNC_MS): Promise<void> {
    const info = await this.jsm.streams.info(`KV_${this.bucket}`);
    const last = info.state.last_seq;
    if (this.seen >= last) return;
    let timer: NodeJS.Timeout | undefined;
    const waiter = { revision: last, resolve: () => undefined as void };
    try {
      await new Promise<void>((resolve, reject) => {
        waiter.resolve = resolve;
        this.waiters.push(waiter);
        timer = setTimeout(() => {
          this.waiters = this.waiters.filter((other) => other !== waiter);
          this.log(`the watch of ${this.bucket} is at revision ${this.seen} of ${last} after ${timeoutMs / 1000} s; watching again`);
          this.watch?.stop();
          reject(new Error(`the watch of ${this.bucket} fell behind (revision ${this.seen} of ${last})`));
        }, timeoutMs);
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** A watch ends when NATS goes away for long; a new one replays the last values, which the view takes by revision. */
  private async follow(): Promise<void> {
    while (!this.stopped && !this.closed()) {
      try {
        const watch = await this.kv.watch({ key: '>' });
        this.watch = watch;
        for await (const entry of watch) {
          this.apply(entry);
          this.saw(entry.revision);
          if (this.stopped) watch.stop();
        }
      } catch (error) {
        if (!this.stopped && !this.closed()) this.log(`watch of ${this.bucket} ended (${String(error)}); watching again`);
      }
      if (!this.stopped && !this.closed()) await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  saw(revision: number): void {
    if (revision <= this.seen) return;
    this.seen = revision;
    const ready = this.waiters.filter((waiter) => waiter.revision <= revision);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => waiter.revision > revision);
    for (const waiter of ready) waiter.resolve();
  }
}

class JetStreamStore extends ViewReads {
  private readonly runsFollower: BucketFollower;
  private readonly jobsFollower: BucketFollower;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly runs: KV,
    private readonly jobs: KV,
    private readonly agents: { kv: KV; bucket: string },
    private readonly buckets: { runs: string; jobs: string },
    private readonly log: (line: string) => void,
    closed: () => boolean,
  ) {
    super();
    this.runsFollower = new BucketFollower(runs, jsm, buckets.runs, (entry) => this.takeRun(entry), log, closed);
    this.jobsFollower = new BucketFollower(jobs, jsm, buckets.jobs, (entry) => this.takeJob(entry), log, closed);
  }

  async start(): Promise<void> {
    await Promise.all([this.runsFollower.start(), this.jobsFollower.start()]);
  }

  async sync(): Promise<void> {
    await Promise.all([this.runsFollower.sync(), this.jobsFollower.sync()]);
  }

  async putRun(run: RunRecord): Promise<void> {
    const revision = await this.runs.put(run.id, encode(run));
    this.view.putRun({ value: run, revision });
  }

  async createJob(job: JobRecord): Promise<void> {
    const revision = await this.jobs.create(jobKey(job.runId, job.id), encode(job));
    this.view.putJob({ value: job, revision });
  }

  async updateJob(job: JobRecord, revision: number): Promise<boolean> {
    try {
      const next = await this.jobs.update(jobKey(job.runId, job.id), encode(job), revision);
      this.view.putJob({ value: job, revision: next });
      return true;
    } catch (error) {
      if (!isWrongRevision(error)) throw error;
      // Another writer got there first: read its version now, so the caller's next try starts from it.
      const entry = await this.jobs.get(jobKey(job.runId, job.id));
      if (entry) this.takeJob(entry);
      return false;
    }
  }

  async listAgents(): Promise<HeardAgent[]> {
    // Read side by side: one get after another costs a round trip per agent, and placement passes wait on this.
    const entries = await inParallel(await listKeys(this.jsm, this.agents.bucket, '>'), AGENT_READS_IN_FLIGHT, (key) =>
      this.agents.kv.get(key),
    );
    const found: HeardAgent[] = [];
    for (const entry of entries) {
      if (!entry || entry.operation !== 'PUT') continue;
      const decoded = agentRecordCodec.decode(entry.value);
      if (decoded.ok) found.push({ ...decoded.value, heardAt: entry.created.getTime() });
    }
    return found;
  }

  private takeRun(entry: KvEntry): void {
    if (entry.operation !== 'PUT') return this.view.deleteRun(entry.key, entry.revision);
    const value = decodeRecord(storeRecords.run, this.buckets.runs, entry, this.log);
    if (value) this.view.putRun({ value, revision: entry.revision });
  }

  private takeJob(entry: KvEntry): void {
    const dot = entry.key.indexOf('.');
    // The watch brings back this process's own writes, which the view holds already: not decoded a second time.
    if ((this.view.job(entry.key.slice(0, dot), entry.key.slice(dot + 1))?.revision ?? 0) >= entry.revision) return;
    if (entry.operation === 'PUT') {
      const value = decodeRecord(storeRecords.job, this.buckets.jobs, entry, this.log);
      if (value) this.view.putJob({ value, revision: entry.revision });
      return;
    }
    this.view.deleteJob(entry.key.slice(0, dot), entry.key.slice(dot + 1), entry.revision);
  }
}

/**
 * Keys of a bucket from one stream-info request. (The client's kv.keys() walks the bucket with a consumer and
 * was seen to hang forever when keys are written while it runs; this asks the server for the subjects at once.)
 * Deleted keys may still be listed; reading them returns nothing, and callers skip them.
 */
async function listKeys(jsm: JetStreamManager, bucket: string, filter: string): Promise<string[]> {
  const prefix = `$KV.${bucket}.`;
  const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}${filter}` });
  return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
}

/** JetStream's "wrong last sequence": the compare-and-set lost to another writer. */
function isWrongRevision(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === 10071;
}
