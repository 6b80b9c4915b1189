import type { AgentRecord, JobRecord, RunRecord, Versioned } from '@katapult/core';

export type { RunRecord } from '@katapult/core';

/** An agent's last heartbeat record, and when NATS stored it (the server's clock, not the agent's). */
export type HeardAgent = AgentRecord & { heardAt: number };

export type { Versioned } from '@katapult/core';

/**
 * Everything the coordinator knows lives behind this interface, in JetStream KV in production, so a
 * restarted coordinator picks up where it stopped. Writes of a job take the revision they read: a write
 * based on a stale read fails instead of overwriting someone else's change.
 */
export interface Store {
  putRun(run: RunRecord): Promise<void>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  listRuns(): Promise<RunRecord[]>;
  createJob(job: JobRecord): Promise<void>;
  getJob(runId: string, jobId: string): Promise<Versioned<JobRecord> | undefined>;
  listJobs(runId?: string): Promise<Versioned<JobRecord>[]>;
  /** Compare-and-set: false when the job changed since `revision` was read. */
  updateJob(job: JobRecord, revision: number): Promise<boolean>;
  /** Resolves once everything written to the buckets before the call can be read (another writer's updates too). */
  sync(): Promise<void>;
  /** A run's pending jobs in config order, from the in-memory view: what a placement pass reads. */
  pendingJobs(runId: string): Versioned<JobRecord>[];
  /** The same, read lazily: a placement pass reads only as many as there is room for. */
  pendingInOrder(runId: string): Iterable<Versioned<JobRecord>>;
  /** How many sizes (cpus and GPUs asked) a run's pending jobs come in. */
  pendingSizeCount(runId: string): number;
  /** Every run's jobs that hold cpus on an agent (assigned, pulling, running). */
  activeJobs(): Versioned<JobRecord>[];
  /** How many of a run's jobs are not final yet. */
  unfinished(runId: string): number;
  /** How many of a run's jobs are blocked on their dependencies. */
  blocked(runId: string): number;
  listAgents(): Promise<HeardAgent[]>;
}
