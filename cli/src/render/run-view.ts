import type { AgentView, CostEstimate, JobView, RunView } from '@katapult/core/light';
import { formatCost } from './cost.js';
import { formatDuration, renderTable } from './table.js';

export function jobDuration(job: JobView, now: number): number | null {
  if (job.startedAt === null) return null;
  return (job.finishedAt ?? now) - job.startedAt;
}

/** The run's header line and one row per job: what `status` and the end of `launch` print. */
export function renderRun(run: RunView, now = Date.now()): string {
  const counts = new Map<string, number>();
  for (const job of run.jobs) counts.set(job.state, (counts.get(job.state) ?? 0) + 1);
  const summary = [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
  const header = `run ${run.id} (${run.project}, ${run.configFile}): ${run.state} — ${summary}`;
  const rows = run.jobs.map((job) => [
    job.id,
    job.envName,
    job.agentId ?? '-',
    job.state,
    String(job.attempt),
    job.exitCode === null ? '-' : String(job.exitCode),
    formatDuration(jobDuration(job, now)),
  ]);
  return `${header}\n${renderTable(['JOB', 'ENV', 'AGENT', 'STATE', 'ATTEMPT', 'EXIT', 'DURATION'], rows)}`;
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
  const order = ['pending', 'assigned', 'pulling', 'running', 'done', 'failed', 'aborted'] as const;
  const counts = order.map((state) => [state, run.jobs.filter((job) => job.state === state).length] as const).filter(([, n]) => n > 0);
  const sum = (of: (agent: (typeof agents)[number]) => number | undefined) => agents.reduce((total, agent) => total + (of(agent) ?? 0), 0);
  const gpus = sum((agent) => agent.gpus);
  const busy = `${sum((agent) => agent.usedCpus)}/${sum((agent) => agent.cpus)} cpus${gpus > 0 ? `, ${sum((agent) => agent.usedGpus)}/${gpus} gpus` : ''} busy`;
  const instances = agents.length === 0 ? 'no instance up yet' : `${agents.length} instance${agents.length === 1 ? '' : 's'} up, ${busy}`;
  return `${counts.map(([state, n]) => `${n} ${state}`).join(', ')} · ${instances}${cost ? ` · ${formatCost(cost)}` : ''}`;
}

/** One line per job whose state changed since the previous view; the live progress of `launch`. */
export function describeChanges(previous: RunView | undefined, next: RunView): string[] {
  const before = new Map(previous?.jobs.map((job) => [job.id, job]) ?? []);
  const lines: string[] = [];
  for (const job of next.jobs) {
    const old = before.get(job.id);
    if (old && old.state === job.state && old.attempt === job.attempt) continue;
    if (!old && job.state === 'pending') continue;
    const where = job.agentId ? ` on ${job.agentId}` : '';
    const detail =
      job.state === 'failed' ? ` (exit ${job.exitCode ?? '-'}${job.message ? `: ${job.message}` : ''})` : job.attempt > 1 ? ` (attempt ${job.attempt})` : '';
    lines.push(`${job.id} ${job.state}${where}${detail}`);
  }
  return lines;
}
