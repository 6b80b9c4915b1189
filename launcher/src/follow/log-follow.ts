import { isFinal } from '@katapult/core';
import type { RunReader } from '../stack/history.js';
import { logsComplete, type LoggedJob } from './log-end.js';

const REFRESH_MS = 1_000;
// Records written after the run is over: a cancelled job's container is stopped after it is marked aborted.
const END_GRACE_MS = 10_000;

/**
 * Tells `logs --follow` when to stop: once the followed jobs have all ended (as the coordinator sees them)
 * and their current attempts' end-of-log records are read. An attempt whose record never comes (its agent
 * lost mid-write) holds it at most END_GRACE_MS after the end.
 */
export class LogEndWatch {
  private jobs: LoggedJob[] = [];
  private refreshedAt = Number.NEGATIVE_INFINITY;
  private endedAt: number | undefined;

  constructor(
    private readonly runs: Pick<RunReader, 'getRun'>,
    private readonly runId: string,
    private readonly jobId: string | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async complete(ended: ReadonlyMap<string, number>): Promise<boolean> {
    if (this.now() - this.refreshedAt >= REFRESH_MS) {
      const run = await this.runs.getRun(this.runId);
      this.jobs = run.jobs.filter((job) => this.jobId === undefined || job.id === this.jobId);
      this.refreshedAt = this.now();
    }
    if (!this.jobs.every((job) => isFinal(job.state))) return false;
    this.endedAt ??= this.now();
    return logsComplete(this.jobs, ended) || this.now() - this.endedAt >= END_GRACE_MS;
  }
}
