import type { NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { agentRecordCodec, jobKey, type AgentRecord, type ClusterNames, type JobRecord } from '@katapult/core';
import type { RunRecord, Store, Versioned } from './store.js';

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
  const runs = await kvm.create(names.buckets.runs, { history: 1 });
  const jobs = await kvm.create(names.buckets.jobs, { history: 1 });
  const agents = await kvm.create(names.buckets.agents, { history: 1, ttl: options.agentTtlMs });
  return new JetStreamStore(runs, jobs, agents);
}

class JetStreamStore implements Store {
  constructor(
    private readonly runs: KV,
    private readonly jobs: KV,
    private readonly agents: KV,
  ) {}

  async putRun(run: RunRecord): Promise<void> {
    await this.runs.put(run.id, encode(run));
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const entry = await this.runs.get(runId);
    return entry && entry.operation === 'PUT' ? decode<RunRecord>(entry.value) : undefined;
  }

  async listRuns(): Promise<RunRecord[]> {
    const runs: RunRecord[] = [];
    for (const key of await collect(this.runs.keys())) {
      const run = await this.getRun(key);
      if (run) runs.push(run);
    }
    return runs.sort((a, b) => a.createdAt - b.createdAt);
  }

  async createJob(job: JobRecord): Promise<void> {
    await this.jobs.create(jobKey(job.runId, job.id), encode(job));
  }

  async getJob(runId: string, jobId: string): Promise<Versioned<JobRecord> | undefined> {
    const entry = await this.jobs.get(jobKey(runId, jobId));
    return entry && entry.operation === 'PUT' ? { value: decode<JobRecord>(entry.value), revision: entry.revision } : undefined;
  }

  async listJobs(runId?: string): Promise<Versioned<JobRecord>[]> {
    const keys = await collect(this.jobs.keys(runId ? `${runId}.*` : '>'));
    const found: Versioned<JobRecord>[] = [];
    for (const key of keys) {
      const entry = await this.jobs.get(key);
      if (entry && entry.operation === 'PUT') found.push({ value: decode<JobRecord>(entry.value), revision: entry.revision });
    }
    return found.sort((a, b) => a.value.createdAt - b.value.createdAt || a.value.id.localeCompare(b.value.id));
  }

  async updateJob(job: JobRecord, revision: number): Promise<boolean> {
    try {
      await this.jobs.update(jobKey(job.runId, job.id), encode(job), revision);
      return true;
    } catch (error) {
      if (isWrongRevision(error)) return false;
      throw error;
    }
  }

  async listAgents(): Promise<AgentRecord[]> {
    const found: AgentRecord[] = [];
    for (const key of await collect(this.agents.keys())) {
      const entry = await this.agents.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      const decoded = agentRecordCodec.decode(entry.value);
      if (decoded.ok) found.push(decoded.value);
    }
    return found;
  }
}

async function collect(keys: Promise<AsyncIterable<string>>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of await keys) out.push(key);
  return out;
}

/** JetStream's "wrong last sequence": the compare-and-set lost to another writer. */
function isWrongRevision(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === 10071;
}
