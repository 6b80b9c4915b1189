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
  /** Each run's pending jobs, kept in config order while they come in order (see pendingInOrder). */
  private readonly pendingByRun = new Map<string, Set<string>>();
  /** Runs whose pending set took a job out of order since it was last sorted. */
  private readonly pendingUnsorted = new Set<string>();
  /** The last job appended to each run's pending set: a job after it in config order keeps the set sorted. */
  private readonly pendingLast = new Map<string, JobRecord>();
  /** How many of each run's pending jobs there are of each size (cpus and GPUs). */
  private readonly pendingSizes = new Map<string, Map<string, number>>();
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
    const runs =
      runId === undefined ? [...this.jobsByRun.values()] : [this.jobsByRun.get(runId) ?? new Map<string, Versioned<JobRecord>>()];
    return runs.flatMap((jobs) => [...jobs.values()]).sort(byCreation);
  }

  /** A run's pending jobs, in config order. */
  pendingJobs(runId: string): Versioned<JobRecord>[] {
    return [...this.pendingInOrder(runId)];
  }

  /**
   * A run's pending jobs in config order, read lazily: a placement pass reads only as many as there is room for,
   * so a pass costs the same whether 10 or 10,000 jobs wait. Sorted only after a job came in out of order.
   */
  *pendingInOrder(runId: string): Generator<Versioned<JobRecord>> {
    const jobs = this.jobsByRun.get(runId);
    const pending = this.pendingByRun.get(runId);
    if (!jobs || !pending) return;
    if (this.pendingUnsorted.delete(runId)) {
      const sorted = [...pending].map((id) => jobs.get(id)!).sort(byCreation);
      this.pendingByRun.set(runId, new Set(sorted.map((entry) => entry.value.id)));
      this.pendingLast.set(runId, sorted.at(-1)!.value);
      yield* sorted;
      return;
    }
    for (const id of pending) yield jobs.get(id)!;
  }

  /** How many sizes (cpus and GPUs asked) a run's pending jobs come in. */
  pendingSizeCount(runId: string): number {
    return this.pendingSizes.get(runId)?.size ?? 0;
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
      const last = this.pendingLast.get(job.runId);
      if (pending.size > 0 && last && compareCreation(last, job) > 0) this.pendingUnsorted.add(job.runId);
      else this.pendingLast.set(job.runId, job);
      pending.add(job.id);
      const sizes = this.pendingSizes.get(job.runId) ?? new Map<string, number>();
      this.pendingSizes.set(job.runId, sizes.set(sizeOf(job), (sizes.get(sizeOf(job)) ?? 0) + 1));
    }
    if (ACTIVE_STATES.has(job.state)) this.active.set(`${job.runId}.${job.id}`, entry);
    if (!isFinal(job.state)) this.unfinishedByRun.set(job.runId, this.unfinished(job.runId) + 1);
    if (job.state === 'blocked') this.blockedByRun.set(job.runId, this.blocked(job.runId) + 1);
  }

  private unindex(job: JobRecord): void {
    if (this.pendingByRun.get(job.runId)?.delete(job.id)) {
      const sizes = this.pendingSizes.get(job.runId)!;
      const left = sizes.get(sizeOf(job))! - 1;
      if (left > 0) sizes.set(sizeOf(job), left);
      else sizes.delete(sizeOf(job));
    }
    this.active.delete(`${job.runId}.${job.id}`);
    if (!isFinal(job.state)) this.unfinishedByRun.set(job.runId, this.unfinished(job.runId) - 1);
    if (job.state === 'blocked') this.blockedByRun.set(job.runId, this.blocked(job.runId) - 1);
  }
}

function byCreation(a: Versioned<JobRecord>, b: Versioned<JobRecord>): number {
  return compareCreation(a.value, b.value);
}

function compareCreation(a: JobRecord, b: JobRecord): number {
  return a.createdAt - b.createdAt || a.runId.localeCompare(b.runId) || a.index - b.index;
}

function sizeOf(job: JobRecord): string {
  return `${job.cpusReq}/${job.gpusReq ?? 0}`;
}
