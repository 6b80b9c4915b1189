import { isFinal, jobStateCounts, plural, type AgentView, type CostEstimate, type JobView, type RunView } from '@katapult/core/light';
import { formatCost } from './cost.js';
import { formatDuration, renderTable } from './table.js';

export function jobDuration(job: JobView, now: number): number | null {
  if (job.startedAt === null) return null;
  return (job.finishedAt ?? now) - job.startedAt;
}

/** A run with more jobs than this shows only the ones worth a look (not done), unless every job is asked for. */
export const JOB_ROWS_SHOWN = 50;

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
  const omitted = left > 0 ? [`${plural(left, 'more job')} not shown (${doneLeft} of them done); katapult status --all-jobs lists every job`] : [];
  const notes = shown.flatMap(jobNotes);
  const stopped = run.stopReason ? [`stopped by the coordinator: ${run.stopReason}`] : [];
  return [header, ...stopped, renderTable(['JOB', 'ENV', 'AGENT', 'POOL', 'STATE', 'ATTEMPT', 'EXIT', 'DURATION'], rows), ...omitted, ...notes, ...waiting].join('\n');
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

/** Why pending jobs wait, most common first, with how many wait for each reason. */
export function waitingReasons(run: RunView): [string, number][] {
  const counts = new Map<string, number>();
  for (const job of run.jobs) if ((job.state === 'pending' || job.state === 'blocked') && job.waiting) counts.set(job.waiting, (counts.get(job.waiting) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}

/**
 * Jobs by state and instances up, in the order of a job's life, then the cost estimate when there is one (AWS):
 * what `launch` prints when nothing else happens.
 */
export function summarizeRun(
  run: RunView,
  agents: readonly (Pick<AgentView, 'cpus' | 'usedCpus'> & Partial<Pick<AgentView, 'gpus' | 'usedGpus'>>)[],
  cost?: CostEstimate,
): string {
  const sum = (of: (agent: (typeof agents)[number]) => number | undefined) => agents.reduce((total, agent) => total + (of(agent) ?? 0), 0);
  const gpus = sum((agent) => agent.gpus);
  const busy = `${sum((agent) => agent.usedCpus)}/${sum((agent) => agent.cpus)} cpus${gpus > 0 ? `, ${sum((agent) => agent.usedGpus)}/${gpus} gpus` : ''} busy`;
  const instances = agents.length === 0 ? 'no instance up yet' : `${plural(agents.length, 'instance')} up, ${busy}`;
  const why = waitingReasons(run)[0];
  const waiting = why ? ` · ${why[1]} ${why[0].startsWith('runs after') ? 'blocked' : 'pending'}: ${why[0]}` : '';
  return `${jobStateCounts(run.jobs)} · ${instances}${waiting}${cost ? ` · ${formatCost(cost)}` : ''}`;
}

/**
 * One line per job whose state changed since the previous view; the live progress of `launch`. In a big run
 * (more than JOB_ROWS_SHOWN jobs) only failures get a line of their own: the summary line tells the rest.
 */
export function describeChanges(previous: RunView | undefined, next: RunView): string[] {
  const big = next.jobs.length > JOB_ROWS_SHOWN;
  const before = new Map(previous?.jobs.map((job) => [job.id, job]) ?? []);
  const lines: string[] = [];
  for (const job of next.jobs) {
    const old = before.get(job.id);
    if (old && old.state === job.state && old.attempt === job.attempt) continue;
    if (!old && job.state === 'pending') continue;
    if (big && job.state !== 'failed') continue;
    const where = job.agentId ? ` on ${job.agentId}` : '';
    const detail =
      job.state === 'failed' ? ` (exit ${job.exitCode ?? '-'}${job.message ? `: ${job.message}` : ''})` : job.attempt > 1 ? ` (attempt ${job.attempt})` : '';
    lines.push(`${job.id} ${job.state}${where}${detail}`);
  }
  return lines;
}

/** `[########------------] 412/1000`: how many of the run's jobs have ended, as a bar of `width` cells. */
export function runProgressBar(run: Pick<RunView, 'jobs'>, width = 20): string {
  const total = run.jobs.length;
  const ended = run.jobs.filter((job) => isFinal(job.state)).length;
  const filled = total === 0 ? width : Math.floor((ended / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${ended}/${total}`;
}
