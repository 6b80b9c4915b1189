import { ClusterView, type JobRecord, type Versioned } from '@katapult/core';
import type { HeardAgent, RunRecord, Store } from './store.js';

/**
 * The half of a Store that every implementation shares: reads answered from the in-memory ClusterView.
 * A store only says how it writes (and keeps `view` current) and where agents are heard.
 */
export abstract class ViewReads implements Store {
  protected readonly view = new ClusterView<RunRecord>();

  abstract putRun(run: RunRecord): Promise<void>;
  abstract createJob(job: JobRecord): Promise<void>;
  abstract updateJob(job: JobRecord, revision: number): Promise<boolean>;
  abstract sync(): Promise<void>;
  abstract listAgents(): Promise<HeardAgent[]>;

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return this.view.run(runId);
  }

  async listRuns(): Promise<RunRecord[]> {
    return this.view.allRuns();
  }

  async getJob(runId: string, jobId: string): Promise<Versioned<JobRecord> | undefined> {
    return this.view.job(runId, jobId);
  }

  async listJobs(runId?: string): Promise<Versioned<JobRecord>[]> {
    return this.view.jobs(runId);
  }

  pendingJobs(runId: string): Versioned<JobRecord>[] {
    return this.view.pendingJobs(runId);
  }

  pendingInOrder(runId: string): Iterable<Versioned<JobRecord>> {
    return this.view.pendingInOrder(runId);
  }

  pendingSizeCount(runId: string): number {
    return this.view.pendingSizeCount(runId);
  }

  activeJobs(): Versioned<JobRecord>[] {
    return this.view.activeJobs();
  }

  unfinished(runId: string): number {
    return this.view.unfinished(runId);
  }

  blocked(runId: string): number {
    return this.view.blocked(runId);
  }
}
