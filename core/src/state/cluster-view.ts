import { ACTIVE_STATES, isFinal, type JobRecord, type RunState } from '../lifecycle/job.js';

/** A stored value and its revision (the KV stream sequence that wrote it). */
export interface Versioned<T> {
  value: T;
  revision: number;
}

/** What the view needs of a run record. */
export interface ViewRun {
  id: string;
  state: RunState;
  createdAt: number;
}

/**
 * The coordinator's picture of runs and jobs in memory: a cache of the KV buckets, never their master. Every entry
 * is taken only if its revision is newer than the one held, so the same entries seen in any order (a watch
 * replaying the buckets, the writes this process made, updates another writer made) give the same view. Indices
 * keep what a placement pass reads (a run's pending jobs, the jobs holding cpus) apart from the finished jobs of
 * old runs, which cost nothing once stored.
 */
export class ClusterView<R extends ViewRun> {
  private readonly runs = new Map<string, Versioned<R>>();
  private readonly jobsByRun = new Map<string, Map<string, Versioned<JobRecord>>>();
  private readonly pendingByRun = new Map<string, Set<string>>();
  private readonly active = new Map<string, Versioned<JobRecord>>();
  private readonly unfinishedByRun = new Map<string, number>();
  private readonly blockedByRun = new Map<string, number>();

  /** Takes a run record if it is newer than the one held; returns whether it did. */
  putRun(entry: Versioned<R>): boolean {
    const known = this.runs.get(entry.value.id);
    if (known && known.revision >= entry.revision) return false;
    this.runs.set(entry.value.id, entry);
    return true;
  }

  /** Takes a job record if it is newer than the one held; returns whether it did. */
  putJob(entry: Versioned<JobRecord>): boolean {
    const { runId, id } = entry.value;
    let jobs = this.jobsByRun.get(runId);
    const known = jobs?.get(id);
    if (known && known.revision >= entry.revision) return false;
    if (known) this.unindex(known.value);
    if (!jobs) this.jobsByRun.set(runId, (jobs = new Map()));
    jobs.set(id, entry);
    this.index(entry);
    return true;
  }

  /** Forgets a job whose key was deleted (at `revision`). */
  deleteJob(runId: string, jobId: string, revision: number): void {
    const known = this.jobsByRun.get(runId)?.get(jobId);
    if (!known || known.revision >= revision) return;
    this.unindex(known.value);
    this.jobsByRun.get(runId)!.delete(jobId);
  }

  deleteRun(runId: string, revision: number): void {
    const known = this.runs.get(runId);
    if (known && known.revision < revision) this.runs.delete(runId);
  }

  run(runId: string): R | undefined {
    return this.runs.get(runId)?.value;
  }

  /** Every run, oldest first. */
  allRuns(): R[] {
    return [...this.runs.values()].map((entry) => entry.value).sort((a, b) => a.createdAt - b.createdAt);
  }

  job(runId: string, jobId: string): Versioned<JobRecord> | undefined {
    return this.jobsByRun.get(runId)?.get(jobId);
  }

  /** A run's jobs (every run's when no id is given), in the order of their creation and config. */
  jobs(runId?: string): Versioned<JobRecord>[] {
    const runs = runId === undefined ? [...this.jobsByRun.values()] : [this.jobsByRun.get(runId) ?? new Map<string, Versioned<JobRecord>>()];
    return runs.flatMap((jobs) => [...jobs.values()]).sort(byCreation);
  }

  /** A run's pending jobs, in config order. */
  pendingJobs(runId: string): Versioned<JobRecord>[] {
    const jobs = this.jobsByRun.get(runId);
    return [...(this.pendingByRun.get(runId) ?? [])].map((id) => jobs!.get(id)!).sort(byCreation);
  }

  /** Jobs holding cpus on an agent (assigned, pulling, running), of every run. */
  activeJobs(): Versioned<JobRecord>[] {
    return [...this.active.values()];
  }

  /** How many of a run's jobs are not final yet. */
  unfinished(runId: string): number {
    return this.unfinishedByRun.get(runId) ?? 0;
  }

  /** How many of a run's jobs wait for their dependencies: a run with none has nothing to settle. */
  blocked(runId: string): number {
    return this.blockedByRun.get(runId) ?? 0;
  }

  private index(entry: Versioned<JobRecord>): void {
    const job = entry.value;
    if (job.state === 'pending') {
      let pending = this.pendingByRun.get(job.runId);
      if (!pending) this.pendingByRun.set(job.runId, (pending = new Set()));
      pending.add(job.id);
    }
    if (ACTIVE_STATES.has(job.state)) this.active.set(`${job.runId}.${job.id}`, entry);
    if (!isFinal(job.state)) this.unfinishedByRun.set(job.runId, this.unfinished(job.runId) + 1);
    if (job.state === 'blocked') this.blockedByRun.set(job.runId, this.blocked(job.runId) + 1);
  }

  private unindex(job: JobRecord): void {
    this.pendingByRun.get(job.runId)?.delete(job.id);
    this.active.delete(`${job.runId}.${job.id}`);
    if (!isFinal(job.state)) this.unfinishedByRun.set(job.runId, this.unfinished(job.runId) - 1);
    if (job.state === 'blocked') this.blockedByRun.set(job.runId, this.blocked(job.runId) - 1);
  }
}

function byCreation(a: Versioned<JobRecord>, b: Versioned<JobRecord>): number {
  return a.value.createdAt - b.value.createdAt || a.value.runId.localeCompare(b.value.runId) || a.value.index - b.value.index;
}
