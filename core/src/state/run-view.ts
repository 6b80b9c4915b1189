import type { JobRecord } from '../lifecycle/job.js';
import type { RunRecord } from '../lifecycle/run-record.js';
import { poolsOf } from '../model/pools.js';
import type { RunSummary, RunView } from '../protocol/api.js';
import type { SizingRun } from '../scheduler/pool-sizing.js';

// What the API shows of stored runs, shared by the coordinator and the launcher's history reader (after `down`).

/** The pools a stored run places its jobs on. */
export function poolIdsOf(run: RunRecord): string[] {
  return poolsOf(sizingRun(run)).map((pool) => pool.id);
}

export function sizingRun(run: RunRecord): SizingRun {
  return {
    id: run.id,
    project: run.project,
    provider: run.placement?.provider ?? 'local',
    instances: run.instances,
    state: run.state,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    autoStopSeconds: run.autoStopSeconds,
  };
}

/** A run and its jobs as the API shows them; also what `status` shows from the kept history after `down`. */
export function runViewOf(run: RunRecord, jobRecords: readonly JobRecord[], waiting?: (job: JobRecord) => string | undefined): RunView {
  return { ...runSummaryFields(run), jobs: jobViewsOf(jobRecords, jobRecords, waiting) };
}

/**
 * The `shown` jobs as the API shows them; `all` are the run's jobs, which a blocked job's waiting line names the
 * unfinished ones of. A page of a big run builds the views of its page only.
 */
export function jobViewsOf(
  shown: readonly JobRecord[],
  all: readonly JobRecord[],
  waiting?: (job: JobRecord) => string | undefined,
): RunView['jobs'] {
  const stateOf = new Map(all.map((job) => [job.id, job.state]));
  return shown.map((job) => ({
    id: job.id,
    runId: job.runId,
    envName: job.envName,
    state: job.state,
    attempt: job.attempt,
    agentId: job.agentId,
    pool: job.pool ?? null,
    exitCode: job.exitCode,
    reason: job.reason,
    message: job.message,
    ...(job.state === 'pending' ? { waiting: waiting?.(job) ?? null } : {}),
    ...(job.state === 'blocked'
      ? { waiting: `runs after ${(job.after ?? []).filter((id) => stateOf.get(id) !== 'done').join(', ')}` }
      : {}),
    outputFiles: job.outputFiles,
    outputs: job.outputs,
    attempts: (job.history ?? []).map(({ attempt, agentId, reason, exitCode }) => ({ attempt, agentId, reason, exitCode })),
    createdAt: job.createdAt,
    assignedAt: job.assignedAt,
    pullingAt: job.pullingAt ?? null,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    cpus: job.cpusReq,
  }));
}

function runSummaryFields(run: RunRecord): Omit<RunSummary, 'counts'> {
  return {
    id: run.id,
    project: run.project,
    configFile: run.configFile,
    state: run.state,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    pools: poolIdsOf(run),
    ...(run.stopReason ? { stopReason: run.stopReason } : {}),
  };
}

/** A run with its jobs counted by state rather than listed. */
export function runSummaryOf(run: RunRecord, jobRecords: readonly JobRecord[]): RunSummary {
  return { ...runSummaryFields(run), counts: stateCounts(jobRecords) };
}

export function stateCounts(jobs: readonly { state: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const job of jobs) counts[job.state] = (counts[job.state] ?? 0) + 1;
  return counts;
}
