import { dependencyDecisions, runStateOf, type Log } from '@katapult/core';
import type { RunRecord, Store } from '../store/store.js';
import type { JobEvents } from './job-events.js';

/** Moves runs along: blocked jobs released or skipped as their dependencies end, and a run closed once its jobs are. */
export class RunProgress {
  /** Runs being closed: the ends of a run's last jobs, applied side by side, close it once. */
  private readonly closing = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly events: JobEvents,
    private readonly log: Log,
  ) {}

  /**
   * Blocked jobs whose every dependency is done become pending, given those jobs' output archives to stage;
   * those with a dependency that failed, was aborted or skipped are skipped (and theirs in turn, as they end).
   */
  async settleDependencies(runId: string): Promise<void> {
    // Every job's end comes here: a run with nothing blocked must not cost a pass over its jobs.
    if (this.store.blocked(runId) === 0) return;
    const jobs = (await this.store.listJobs(runId)).map((entry) => entry.value);
    const byId = new Map(jobs.map((job) => [job.id, job]));
    const { release, skip } = dependencyDecisions(jobs);
    for (const { id, message } of skip) await this.events.apply(runId, id, { type: 'skip', message });
    for (const id of release) {
      const inputArchives = (byId.get(id)!.inputsFrom ?? []).flatMap(({ job, dir }) => {
        const object = byId.get(job)?.outputs?.object;
        return object ? [{ object, dir }] : [];
      });
      await this.events.apply(runId, id, { type: 'release', inputArchives });
    }
  }

  /** A job of the run ended: its dependents settled, and the run closed if that was its last (not at the next tick). */
  async jobEnded(runId: string): Promise<void> {
    await this.settleDependencies(runId);
    if (this.store.unfinished(runId) > 0) return;
    const run = await this.store.getRun(runId);
    if (run?.state === 'running') await this.closeIfFinished(run);
  }

  /** A run is over once none of its jobs is unfinished (the view counts them as they change). */
  async closeIfFinished(run: RunRecord): Promise<void> {
    if (this.store.unfinished(run.id) > 0 || this.closing.has(run.id)) return;
    this.closing.add(run.id);
    try {
      const jobs = (await this.store.listJobs(run.id)).map((entry) => entry.value);
      if (jobs.length === 0) return;
      const state = runStateOf(jobs);
      if (state === 'running') return;
      const current = await this.store.getRun(run.id);
      if (current?.state !== 'running') return;
      await this.store.putRun({ ...current, state, finishedAt: Math.max(...jobs.map((job) => job.finishedAt ?? 0)) });
      this.log(`run ${run.id} finished: ${state}`, { runId: run.id });
    } finally {
      this.closing.delete(run.id);
    }
  }
}
