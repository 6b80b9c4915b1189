import { jobStateCounts, plural, type AgentView, type CostEstimate, type JobView, type RunView } from '@katapult/core/light';
import type { FollowEvent } from '../follow/follow-events.js';
import { changedJobs } from '../follow/run-changes.js';
import { formatCost } from './cost-lines.js';

/** A follow event as the one plain line both front-ends print: the CLI's `launch` and `run`, @katapult/client's onProgress. */
export function followEventLine(event: FollowEvent): string {
  switch (event.type) {
    case 'job-changed':
      return jobChangeLine(event.job);
    case 'summary':
      return summarizeRun(event.run, event.agents, event.cost);
    case 'coordinator-unreachable':
      return `the coordinator does not answer (${event.reason}); retrying`;
  }
}

/** `t-3 running on local-0`, `t-4 failed (exit 1: message)`, `t-5 pulling (attempt 2)`. */
export function jobChangeLine(job: JobView): string {
  const where = job.agentId ? ` on ${job.agentId}` : '';
  const detail =
    job.state === 'failed'
      ? ` (exit ${job.exitCode ?? '-'}${job.message ? `: ${job.message}` : ''})`
      : job.attempt > 1
        ? ` (attempt ${job.attempt})`
        : '';
  return `${job.id} ${job.state}${where}${detail}`;
}

/** One line per job whose state changed since the previous view (changedJobs). */
export function describeChanges(previous: RunView | undefined, next: RunView): string[] {
  return changedJobs(previous, next).map(jobChangeLine);
}

/** Why pending jobs wait, most common first, with how many wait for each reason. */
export function waitingReasons(run: RunView): [string, number][] {
  const counts = new Map<string, number>();
  for (const job of run.jobs)
    if ((job.state === 'pending' || job.state === 'blocked') && job.waiting) counts.set(job.waiting, (counts.get(job.waiting) ?? 0) + 1);
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
