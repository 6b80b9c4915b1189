/**
 * The job state machine (diagram and the original tool's states: docs/LIFECYCLE.md).
 *
 *   pending ──assign──> assigned ──pulling──> pulling ──running──> running ──exited(0)──> done
 *      ^                   │                     │                   ├──exited(n≠0)──> failed (or pending, if retries remain)
 *      └──── agent_lost (attempt+1, while attempts remain) ──────────┘
 *   any non-final state ──cancel──> aborted;   start_failed (image pull, container create) ──> failed
 *
 * Every event carries the attempt it belongs to; an event for an older attempt is stale and ignored, so a
 * slow agent reporting on a job that was already requeued cannot overwrite the newer attempt.
 */
import type { JobOutputs, StagedFile } from '../protocol/messages.js';
import type { JobNetwork } from '../model/run-spec.js';

export type JobState = 'pending' | 'assigned' | 'pulling' | 'running' | 'done' | 'failed' | 'aborted';
export type TerminationReason = 'exit_zero' | 'exit_nonzero' | 'start_failed' | 'agent_lost' | 'cancelled';

export const FINAL_STATES: ReadonlySet<JobState> = new Set(['done', 'failed', 'aborted']);
export const ACTIVE_STATES: ReadonlySet<JobState> = new Set(['assigned', 'pulling', 'running']);

export interface JobRecord {
  runId: string;
  id: string;
  /** Position in the run's config, so listings keep the order the user wrote. */
  index: number;
  envName: string;
  image: string;
  runCommand: string;
  /** Project files staged into the job's work folder. */
  files: StagedFile[];
  /** Paths, relative to the work folder, collected after the job exits. */
  outputFiles: string[];
  /** The collected outputs of the attempt that ended the job (or of the last attempt that exited). */
  outputs: JobOutputs | null;
  cpusReq: number;
  /** GPUs the job needs; absent on records stored before jobs could ask for GPUs: none. */
  gpusReq?: number;
  /** The container's memory limit; null: the share of whichever instance runs it (see jobMemoryLimit). */
  memoryBytes: number | null;
  network: JobNetwork;
  /** Extra attempts allowed after a non-zero exit (the job's `retries`). */
  retries: number;
  /** Attempts allowed in all when the agent is lost (the config's retry limit). */
  maxAttempts: number;
  state: JobState;
  attempt: number;
  agentId: string | null;
  /** The pool of the agent it was last given to; absent on records stored before pools. */
  pool?: string | null;
  exitCode: number | null;
  reason: TerminationReason | null;
  message: string | null;
  createdAt: number;
  assignedAt: number | null;
  /** When its agent said it was getting the image ready; absent on records stored before the timeline. */
  pullingAt?: number | null;
  startedAt: number | null;
  finishedAt: number | null;
}

/**
 * `by`, on what an agent reports: the agent that sent it, as its report's subject says (NATS lets an agent publish
 * only under its own id). Only the agent the attempt was given to is heard; the coordinator's own events have none.
 */
type ReportedBy = { by?: string };

export type JobEvent =
  | { type: 'assign'; agentId: string; pool?: string }
  | ({ type: 'pulling'; attempt: number } & ReportedBy)
  | ({ type: 'running'; attempt: number } & ReportedBy)
  /** ranMs: the container's run time, when the agent knows it (the report comes only once the job's log is stored). */
  | ({ type: 'exited'; attempt: number; exitCode: number; outputs?: JobOutputs; ranMs?: number } & ReportedBy)
  | ({ type: 'start_failed'; attempt: number; message: string } & ReportedBy)
  | ({ type: 'agent_lost'; attempt: number } & ReportedBy)
  | { type: 'cancel' };

export type TransitionResult = { changed: true; job: JobRecord } | { changed: false; job: JobRecord; why: string };

export function isFinal(state: JobState): boolean {
  return FINAL_STATES.has(state);
}

export function applyJobEvent(job: JobRecord, event: JobEvent, now: number): TransitionResult {
  const unchanged = (why: string): TransitionResult => ({ changed: false, job, why });
  if ('attempt' in event && event.attempt !== job.attempt) {
    return unchanged(`stale event for attempt ${event.attempt}; job is on attempt ${job.attempt}`);
  }
  if ('by' in event && event.by !== undefined && event.by !== job.agentId) {
    return unchanged(`report from agent ${event.by}, but attempt ${job.attempt} is ${job.agentId ? `on agent ${job.agentId}` : 'on no agent'}`);
  }
  if (isFinal(job.state)) return unchanged(`job is already ${job.state}`);
  const next = (patch: Partial<JobRecord>): TransitionResult => ({ changed: true, job: { ...job, ...patch } });

  switch (event.type) {
    case 'assign':
      if (job.state !== 'pending') return unchanged(`cannot assign a job that is ${job.state}`);
      return next({ state: 'assigned', agentId: event.agentId, pool: event.pool ?? null, assignedAt: now });
    case 'pulling':
      if (job.state !== 'assigned') return unchanged(`cannot pull for a job that is ${job.state}`);
      return next({ state: 'pulling', pullingAt: now });
    case 'running':
      if (job.state !== 'assigned' && job.state !== 'pulling') return unchanged(`cannot run a job that is ${job.state}`);
      return next({ state: 'running', startedAt: now });
    case 'exited':
      if (job.state === 'pending') return unchanged('job is pending');
      const outputs = event.outputs ?? null;
      const finishedAt = job.startedAt !== null && event.ranMs !== undefined ? Math.min(now, job.startedAt + event.ranMs) : now;
      if (event.exitCode === 0) return next({ state: 'done', exitCode: 0, reason: 'exit_zero', finishedAt, outputs });
      if (job.attempt <= job.retries) return next(requeue(job));
      return next({ state: 'failed', exitCode: event.exitCode, reason: 'exit_nonzero', finishedAt, outputs });
    case 'start_failed':
      if (job.state === 'pending') return unchanged('job is pending');
      return next({ state: 'failed', reason: 'start_failed', message: event.message, finishedAt: now });
    case 'agent_lost':
      if (job.state === 'pending') return unchanged('job is pending');
      if (job.attempt < job.maxAttempts) return next(requeue(job));
      return next({
        state: 'failed',
        reason: 'agent_lost',
        message: `its agent was lost ${job.attempt} times`,
        finishedAt: now,
      });
    case 'cancel':
      return next({ state: 'aborted', reason: 'cancelled', finishedAt: now });
  }
}

function requeue(job: JobRecord): Partial<JobRecord> {
  return { state: 'pending', attempt: job.attempt + 1, agentId: null, assignedAt: null, pullingAt: null, startedAt: null, exitCode: null };
}

export type RunState = 'running' | 'done' | 'failed' | 'aborted';

/** A run is over when every job is final; it failed if any job failed, was aborted if any was cancelled. */
export function runStateOf(jobs: readonly Pick<JobRecord, 'state'>[]): RunState {
  if (jobs.some((job) => !isFinal(job.state))) return 'running';
  if (jobs.some((job) => job.state === 'failed')) return 'failed';
  if (jobs.some((job) => job.state === 'aborted')) return 'aborted';
  return 'done';
}
