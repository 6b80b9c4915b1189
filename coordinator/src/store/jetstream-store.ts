import type { NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiError, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { agentRecordCodec, jobKey, type AgentRecord, type ClusterNames, type JobRecord } from '@katapult/core';
import type { HeardAgent, RunRecord, Store, Versioned } from './store.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const encode = (value: unknown) => encoder.encode(JSON.stringify(value));
const decode = <T>(bytes: Uint8Array): T => JSON.parse(decoder.decode(bytes)) as T;

export interface JetStreamStoreOptions {
  /** An agent whose heartbeat is older than this is gone: its entry expires from the bucket. */
  agentTtlMs: number;
}

export async function openJetStreamStore(nc: NatsConnection, names: ClusterNames, options: JetStreamStoreOptions): Promise<Store> {
  const kvm = new Kvm(nc);
  const jsm = await jetstreamManager(nc);
  const open = async (bucket: string, ttl?: number): Promise<Bucket> => ({
    kv: await kvm.create(bucket, { history: 1, ...(ttl === undefined ? {} : { ttl }) }),
    keys: (filter) => listKeys(jsm, bucket, filter),
  });
  return new JetStreamStore(
    await open(names.buckets.runs),
    await open(names.buckets.jobs),
    await open(names.buckets.agents, options.agentTtlMs),
  );
}

interface Bucket {
  kv: KV;
  keys(filter: string): Promise<string[]>;
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

class JetStreamStore implements Store {
  constructor(
    private readonly runs: Bucket,
    private readonly jobs: Bucket,
    private readonly agents: Bucket,
  ) {}

  async putRun(run: RunRecord): Promise<void> {
    await this.runs.kv.put(run.id, encode(run));
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const entry = await this.runs.kv.get(runId);
    return entry && entry.operation === 'PUT' ? decode<RunRecord>(entry.value) : undefined;
  }

  async listRuns(): Promise<RunRecord[]> {
    const runs: RunRecord[] = [];
    for (const key of await this.runs.keys('>')) {
      const run = await this.getRun(key);
      if (run) runs.push(run);
    }
    return runs.sort((a, b) => a.createdAt - b.createdAt);
  }

  async createJob(job: JobRecord): Promise<void> {
    await this.jobs.kv.create(jobKey(job.runId, job.id), encode(job));
  }

  async getJob(runId: string, jobId: string): Promise<Versioned<JobRecord> | undefined> {
    const entry = await this.jobs.kv.get(jobKey(runId, jobId));
    return entry && entry.operation === 'PUT' ? { value: decode<JobRecord>(entry.value), revision: entry.revision } : undefined;
  }

  async listJobs(runId?: string): Promise<Versioned<JobRecord>[]> {
    const keys = await this.jobs.keys(runId ? `${runId}.*` : '>');
    const found: Versioned<JobRecord>[] = [];
    for (const key of keys) {
      const entry = await this.jobs.kv.get(key);
      if (entry && entry.operation === 'PUT') found.push({ value: decode<JobRecord>(entry.value), revision: entry.revision });
    }
    return found.sort((a, b) => a.value.createdAt - b.value.createdAt || a.value.index - b.value.index);
  }

  async updateJob(job: JobRecord, revision: number): Promise<boolean> {
    try {
      await this.jobs.kv.update(jobKey(job.runId, job.id), encode(job), revision);
      return true;
    } catch (error) {
      if (isWrongRevision(error)) return false;
      throw error;
    }
  }

  async listAgents(): Promise<HeardAgent[]> {
    const found: HeardAgent[] = [];
    for (const key of await this.agents.keys('>')) {
      const entry = await this.agents.kv.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      const decoded = agentRecordCodec.decode(entry.value);
      if (decoded.ok) found.push({ ...decoded.value, heardAt: entry.created.getTime() });
    }
    return found;
  }
}

/** JetStream's "wrong last sequence": the compare-and-set lost to another writer. */
function isWrongRevision(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === 10071;
}
