import { runOver } from '@katapult/launcher';
import { ExitCode, isFinal, KatapultError, type JobView, type RunView } from '@katapult/core';

/**
 * What `RunHandle.wait` waits for:
 * - `over`: every job has ended, whichever way (done, failed or aborted);
 * - `done`: every job is done; a job that failed or was aborted makes this impossible, and is an error at once;
 * - `started`: every job is running or has already ended.
 */
export type WaitUntil = 'over' | 'done' | 'started';

export function reached(run: RunView, until: WaitUntil): boolean {
  switch (until) {
    case 'over':
      return runOver(run);
    case 'started':
      return run.jobs.every((job) => job.state === 'running' || isFinal(job.state));
    case 'done': {
      const lost = run.jobs.find((job) => isFinal(job.state) && job.state !== 'done');
      if (lost) throw notAllDone(run, lost);
      return run.jobs.every((job) => job.state === 'done');
    }
  }
}

function notAllDone(run: RunView, job: JobView): KatapultError {
  const how = job.exitCode === null ? job.state : `${job.state} with exit code ${job.exitCode}`;
  return new KatapultError('KP_JOB_FAILED', `${job.id} ${how}, so run ${run.id} cannot end with every job done`, {
    hint: `katapult logs ${job.id} --run ${run.id}`,
    exitCode: ExitCode.jobFailed,
  });
}
