import type { JobView, RunView } from '@katapult/core/light';

/** A run with more jobs than this shows only the ones worth a look (not done), unless every job is asked for. */
export const JOB_ROWS_SHOWN = 50;

/**
 * The jobs whose state or attempt changed since the previous view, in the run's order; the live progress of
 * `launch`. In a big run (more than JOB_ROWS_SHOWN jobs) only failures count: the summary line tells the rest.
 */
export function changedJobs(previous: RunView | undefined, next: RunView): JobView[] {
  const big = next.jobs.length > JOB_ROWS_SHOWN;
  const before = new Map(previous?.jobs.map((job) => [job.id, job]) ?? []);
  return next.jobs.filter((job) => {
    const old = before.get(job.id);
    if (old && old.state === job.state && old.attempt === job.attempt) return false;
    if (!old && job.state === 'pending') return false;
    return !big || job.state === 'failed';
  });
}
