import { ACTIVE_STATES, isFinal, type JobEvent, type Log } from '@katapult/core';
import { applyStoredJobEvent, applyStoredJobEvents, type ApplyOutcome } from '../store/apply-event.js';
import type { Store } from '../store/store.js';

/** What a job's change sets going elsewhere: wired by the Coordinator to the scheduling and run-progress loops. */
export interface JobEventHooks {
  /** Cpus were freed or a job went back to the queue. */
  freed(): Promise<void>;
  /** A job of this run ended. */
  ended(runId: string): Promise<void>;
}

/** How every loop changes a job: through the store's compare-and-set (applyStoredJobEvent), then what follows. */
export class JobEvents {
  constructor(
    private readonly store: Store,
    private readonly log: Log,
    private readonly now: () => number,
    private readonly hooks: JobEventHooks,
  ) {}

  async apply(runId: string, jobId: string, event: JobEvent): Promise<void> {
    this.after(runId, jobId, await applyStoredJobEvent(this.store, runId, jobId, event, this.now()));
  }

  /** Several events about one job in one write; throws when it could not be stored (nothing of it then followed). */
  async applyAll(runId: string, jobId: string, events: readonly JobEvent[]): Promise<void> {
    const outcomes = await applyStoredJobEvents(this.store, runId, jobId, events, this.now());
    for (const outcome of outcomes) this.after(runId, jobId, outcome);
  }

  /** Logs what an event did to a job, and starts what its new state calls for. */
  private after(runId: string, jobId: string, outcome: ApplyOutcome): void {
    if (outcome.applied) {
      const { attempt, agentId } = outcome.after;
      this.log(`${runId}/${jobId} attempt ${attempt}: ${outcome.before.state} -> ${outcome.after.state}`, {
        runId,
        jobId,
        attempt,
        ...(agentId ? { agentId } : {}),
      });
      // cpus freed, or a job back in the queue: place at once rather than at the next tick.
      if (!ACTIVE_STATES.has(outcome.after.state)) void this.hooks.freed();
      // Its dependents may start (or be skipped), and its run end, now rather than at the next tick.
      if (outcome.after.state !== outcome.before.state && isFinal(outcome.after.state))
        void this.hooks.ended(runId).catch((error: unknown) =>
          this.log(`dependencies and end of ${runId} not settled yet (the next tick retries): ${String(error)}`, {
            runId,
            level: 'warn',
          }),
        );
    } else if (outcome.why.startsWith('no job'))
      this.log(`report for unknown job ${runId}/${jobId} dropped`, { runId, jobId, level: 'warn' });
    else if (outcome.why.startsWith('report from agent'))
      this.log(`${runId}/${jobId}: ${outcome.why}; dropped`, { runId, jobId, level: 'warn' });
  }
}
