import { isFinal, jobStateCounts, plural, type JobView, type RunView } from '@katapult/core/light';
import { JOB_ROWS_SHOWN } from '@katapult/launcher/follow/run-changes';
import { waitingReasons } from '@katapult/launcher/lines/follow-lines';
import { formatDuration, renderTable } from './table.js';

export { JOB_ROWS_SHOWN };

export function jobDuration(job: JobView, now: number): number | null {
  if (job.startedAt === null) return null;
  return (job.finishedAt ?? now) - job.startedAt;
}

/**
 * The run's header line and one row per job: what `status` and the end of `launch` print. A big run (a sweep of
 * thousands) shows its jobs that are not done, at most JOB_ROWS_SHOWN of them, and says how many it left out.
 */
export function renderRun(run: RunView, now = Date.now(), options: { allJobs?: boolean } = {}): string {
  const summary = jobStateCounts(run.jobs);
  const header = `run ${run.id} (${run.project}, ${run.configFile}): ${run.state} — ${summary}`;
  const big = !options.allJobs && run.jobs.length > JOB_ROWS_SHOWN;
  const shown = big ? run.jobs.filter((job) => job.state !== 'done').slice(0, JOB_ROWS_SHOWN) : run.jobs;
  const rows = shown.map((job) => [
    job.id,
    job.envName,
    job.agentId ?? '-',
    job.pool ?? '-',
    job.state,
    String(job.attempt),
    job.exitCode === null ? '-' : String(job.exitCode),
    formatDuration(jobDuration(job, now)),
  ]);
  const waiting = waitingReasons(run).map(([reason, n]) => `${n} ${reason.startsWith('runs after') ? 'blocked' : 'pending'}: ${reason}`);
  const left = run.jobs.length - shown.length;
  const doneLeft = left - (run.jobs.filter((job) => job.state !== 'done').length - shown.length);
  const omitted =
    left > 0 ? [`${plural(left, 'more job')} not shown (${doneLeft} of them done); katapult status --all-jobs lists every job`] : [];
  const notes = shown.flatMap(jobNotes);
  const stopped = run.stopReason ? [`stopped by the coordinator: ${run.stopReason}`] : [];
  return [
    header,
    ...stopped,
    renderTable(['JOB', 'ENV', 'AGENT', 'POOL', 'STATE', 'ATTEMPT', 'EXIT', 'DURATION'], rows),
    ...omitted,
    ...notes,
    ...waiting,
  ].join('\n');
}

/** What the table cannot say about a job: how each of its attempts ended, and why it ended other than by its exit code. */
export function jobNotes(job: JobView): string[] {
  const notes: string[] = [];
  const attempts = job.attempts ?? [];
  if (attempts.length > 0 && (attempts.length > 1 || job.attempt > 1)) {
    const ongoing = attempts.some((outcome) => outcome.attempt === job.attempt) ? [] : [`attempt ${job.attempt} ${job.state}`];
    notes.push(`${job.id}: ${[...attempts.map(describeAttempt), ...ongoing].join(' · ')}`);
  }
  if (job.reason === 'timeout') notes.push(`${job.id}: ${job.state}: timeout${job.message ? ` (${job.message})` : ''}`);
  else if (job.reason === 'exit_nonzero' && job.message) notes.push(`${job.id}: ${job.message}`);
  else if (job.reason === 'dependency' && job.message) notes.push(`${job.id}: ${job.state}: ${job.message}`);
  return notes;
}

function describeAttempt(outcome: NonNullable<JobView['attempts']>[number]): string {
  const how: Record<string, string> = {
    exit_zero: 'exit 0',
    exit_nonzero: `exit ${outcome.exitCode ?? '-'}`,
    timeout: 'timeout',
    start_failed: 'did not start',
    agent_lost: `lost${outcome.agentId ? ` (${outcome.agentId})` : ''}`,
    cancelled: 'cancelled',
  };
  return `attempt ${outcome.attempt} ${how[outcome.reason] ?? outcome.reason}`;
}

/** `[########------------] 412/1000`: how many of the run's jobs have ended, as a bar of `width` cells. */
export function runProgressBar(run: Pick<RunView, 'jobs'>, width = 20): string {
  const total = run.jobs.length;
  const ended = run.jobs.filter((job) => isFinal(job.state)).length;
  const filled = total === 0 ? width : Math.floor((ended / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${ended}/${total}`;
}
