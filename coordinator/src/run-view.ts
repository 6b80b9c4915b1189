import { poolsOf, type JobRecord, type RunView, type SizingRun } from '@katapult/core/light';
import type { RunRecord } from './store/store.js';

// Kept apart from the rest of the coordinator (its providers load the AWS SDK): after `down` the CLI reads the
// kept history with this alone.

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
export function runViewOf(run: RunRecord, jobRecords: readonly JobRecord[], waiting?: (runId: string, jobId: string) => string | undefined): RunView {
  const stateOf = new Map(jobRecords.map((job) => [job.id, job.state]));
  const jobs = jobRecords.map((job) => ({
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
    ...(job.state === 'pending' ? { waiting: waiting?.(job.runId, job.id) ?? null } : {}),
    ...(job.state === 'blocked' ? { waiting: `runs after ${(job.after ?? []).filter((id) => stateOf.get(id) !== 'done').join(', ')}` } : {}),
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
  return {
    id: run.id,
    project: run.project,
    configFile: run.configFile,
    state: run.state,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    pools: poolIdsOf(run),
    ...(run.stopReason ? { stopReason: run.stopReason } : {}),
    jobs,
  };
}
