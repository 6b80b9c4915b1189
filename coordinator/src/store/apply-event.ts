import { applyJobEvent, type JobEvent, type JobRecord } from '@katapult/core';
import type { Store } from './store.js';

export type ApplyOutcome = { applied: true; before: JobRecord; after: JobRecord } | { applied: false; why: string };

/**
 * Read, decide with the state machine, compare-and-set; on a lost race, read again. The one way any part of
 * the coordinator changes a job, so reports, the tick and API calls never overwrite one another.
 */
export async function applyStoredJobEvent(store: Store, runId: string, jobId: string, event: JobEvent, now: number): Promise<ApplyOutcome> {
  return (await applyStoredJobEvents(store, runId, jobId, [event], now))[0]!;
}

/**
 * Several events about one job, in order, folded into one compare-and-set: each is decided by the state machine
 * on the record the ones before it left, and the record is written once (not at all if none changed it). On a lost
 * race, read again and fold again. One outcome per event, in their order.
 */
export async function applyStoredJobEvents(
  store: Store,
  runId: string,
  jobId: string,
  events: readonly JobEvent[],
  now: number,
): Promise<ApplyOutcome[]> {
  for (let tries = 0; tries < 10; tries++) {
    const entry = await store.getJob(runId, jobId);
    if (!entry) return events.map(() => ({ applied: false, why: `no job ${runId}/${jobId}` }));
    let job = entry.value;
    const outcomes: ApplyOutcome[] = [];
    for (const event of events) {
      const result = applyJobEvent(job, event, now);
      outcomes.push(result.changed ? { applied: true, before: job, after: result.job } : { applied: false, why: result.why });
      job = result.job;
    }
    if (job === entry.value || (await store.updateJob(job, entry.revision))) return outcomes;
  }
  throw new Error(`job ${runId}/${jobId} kept changing under us`);
}
