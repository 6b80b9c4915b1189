/**
 * The job state machine (diagram and the original tool's states: docs/LIFECYCLE.md).
 *
 *   pending ──assign──> assigned ──pulling──> pulling ──running──> running ──exited(0)──> done
 *      ^                   │                     │                   ├──exited(n≠0)──> failed (or pending, if retries remain)
 *      └──── agent_lost (attempt+1, while attempts remain) ──────────┘
 *   any non-final state ──cancel──> aborted;   start_failed (image pull, container create) ──> failed
 *   blocked ──release (every job of `after` done)──> pending;   blocked ──skip (one failed, aborted, skipped)──> skipped
 *   running ──exited, timed out──> failed (reason timeout, not retried)
 *
 * Every event carries the attempt it belongs to; an event for an older attempt is stale and ignored, so a
 * slow agent reporting on a job that was already requeued cannot overwrite the newer attempt.
 */
import type { JobOutputs, StagedFile } from '../protocol/messages.js';
import type { JobNetwork } from '../model/run-spec.js';

/** `blocked`: waiting for the jobs it runs after (`after`); `skipped`: one of them ended without being done. */
export type JobState = 'blocked' | 'pending' | 'assigned' | 'pulling' | 'running' | 'done' | 'failed' | 'aborted' | 'skipped';
export type TerminationReason = 'exit_zero' | 'exit_nonzero' | 'timeout' | 'start_failed' | 'agent_lost' | 'cancelled' | 'dependency';

export const FINAL_STATES: ReadonlySet<JobState> = new Set(['done', 'failed', 'aborted', 'skipped']);

export const ACTIVE_STATES: ReadonlySet<JobState> = new Set(['assigned', 'pulling', 'running']);

/** An output archive staged into a job's work folder under `dir` ('': at the paths it holds). */
export interface InputArchive {
  object: string;
  dir: string;
}

/** How one attempt of a job ended. */
export interface AttemptOutcome {
  attempt: number;
  agentId: string | null;
  reason: TerminationReason;
  exitCode: number | null;
  startedAt: number | null;
  finishedAt: number;
}

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
  /** The container's own variables (config `env`); absent on records stored before them: none. */
  env?: Record<string, string>;
  /** Which copy of a `repeat` it is (0-based), of how many; absent: 0 of 1. */
  copyIndex?: number;
  copyCount?: number;
  /** Ids of the jobs it runs after; absent: none. */
  after?: string[];
  /** The jobs whose outputs it is given, and under which folder. */
  inputsFrom?: { job: string; dir: string }[];
  /** Those outputs, once its dependencies are done (they are known then). */
  inputArchives?: InputArchive[];
  /** Names of its secrets (values are sealed in the run record, never here); absent: none. */
  secrets?: string[];
  /** Seconds its container may run (`timeout`); null or absent: no limit. */
  timeoutSeconds?: number | null;
  /** Extra attempts allowed after a non-zero exit (the job's `retries`). */
  retries: number;
  /** The exit codes `retries` are for (`retry_on_exit_codes`); null or absent: any non-zero one. */
  retryOnExitCodes?: number[] | null;
  /**
   * How each ended attempt ended, oldest first (the current one is added when it ends). Failures and lost
   * instances are counted from it, each against its own limit. Absent on records stored before it.
   */
  history?: AttemptOutcome[];
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
  | ({ type: 'exited'; attempt: number; exitCode: number; outputs?: JobOutputs; ranMs?: number; timedOut?: boolean } & ReportedBy)
  | ({ type: 'start_failed'; attempt: number; message: string } & ReportedBy)
  | ({ type: 'agent_lost'; attempt: number } & ReportedBy)
  /** message: why, when not the user's asking (`max_cost` reached). */
  | { type: 'cancel'; message?: string }
  /** Every job it runs after is done: it may be placed, with their outputs to stage. */
  | { type: 'release'; inputArchives?: InputArchive[] }
  /** A job it runs after failed, was aborted or skipped. */
  | { type: 'skip'; message: string };

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
    return unchanged(
      `report from agent ${event.by}, but attempt ${job.attempt} is ${job.agentId ? `on agent ${job.agentId}` : 'on no agent'}`,
    );
  }
  if (isFinal(job.state)) return unchanged(`job is already ${job.state}`);
  const next = (patch: Partial<JobRecord>): TransitionResult => ({ changed: true, job: { ...job, ...patch } });
  /** The attempt under way ends: its outcome joins the history (of records that keep one) before the job moves on. */
  const ended = (reason: TerminationReason, exitCode: number | null, finishedAt: number, patch: Partial<JobRecord>): TransitionResult =>
    next({
      ...(job.history
        ? {
            history: [
              ...job.history,
              { attempt: job.attempt, agentId: job.agentId, reason, exitCode, startedAt: job.startedAt, finishedAt },
            ],
          }
        : {}),
      ...patch,
    });

  switch (event.type) {
    case 'release':
      if (job.state !== 'blocked') return unchanged(`cannot release a job that is ${job.state}`);
      return next({ state: 'pending', ...(event.inputArchives?.length ? { inputArchives: event.inputArchives } : {}) });
    case 'skip':
      if (job.state !== 'blocked') return unchanged(`cannot skip a job that is ${job.state}`);
      return next({ state: 'skipped', reason: 'dependency', message: event.message, finishedAt: now });
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
      // A job that ran out of time would only run out of it again: it is not retried.
      if (event.timedOut) {
        const limit = job.timeoutSeconds ? ` of ${formatSeconds(job.timeoutSeconds)}` : '';
        return ended('timeout', event.exitCode, finishedAt, {
          state: 'failed',
          exitCode: event.exitCode,
          reason: 'timeout',
          message: `killed: it ran past its timeout${limit}`,
          finishedAt,
          outputs,
        });
      }
      if (event.exitCode === 0)
        return ended('exit_zero', 0, finishedAt, { state: 'done', exitCode: 0, reason: 'exit_zero', finishedAt, outputs });
      const failures = endedBy(job, 'exit_nonzero') + 1;
      const retried = !job.retryOnExitCodes || job.retryOnExitCodes.includes(event.exitCode);
      if (failures <= job.retries && retried) return ended('exit_nonzero', event.exitCode, finishedAt, requeue(job));
      const message =
        failures <= job.retries
          ? `exit code ${event.exitCode} is not one of retry_on_exit_codes (${job.retryOnExitCodes!.join(', ')}): not retried`
          : null;
      return ended('exit_nonzero', event.exitCode, finishedAt, {
        state: 'failed',
        exitCode: event.exitCode,
        reason: 'exit_nonzero',
        message,
        finishedAt,
        outputs,
      });
    case 'start_failed':
      if (job.state === 'pending') return unchanged('job is pending');
      return ended('start_failed', null, now, { state: 'failed', reason: 'start_failed', message: event.message, finishedAt: now });
    case 'agent_lost': {
      if (job.state === 'pending') return unchanged('job is pending');
      // Lost instances have their own limit (max_attempts), whatever the job's own failures took.
      const losses = endedBy(job, 'agent_lost') + 1;
      if (losses < job.maxAttempts) return ended('agent_lost', null, now, requeue(job));
      return ended('agent_lost', null, now, {
        state: 'failed',
        reason: 'agent_lost',
        message: `its agent was lost ${losses} times`,
        finishedAt: now,
      });
    }
    case 'cancel': {
      const why = event.message ? { message: event.message } : {};
      if (job.state === 'pending' || job.state === 'blocked')
        return next({ state: 'aborted', reason: 'cancelled', finishedAt: now, ...why });
      return ended('cancelled', null, now, { state: 'aborted', reason: 'cancelled', finishedAt: now, ...why });
    }
  }
}

/** 90 -> "1m30s", as a config would write it. */
function formatSeconds(seconds: number): string {
  const parts: string[] = [];
  let left = seconds;
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (left >= size) {
      parts.push(`${Math.floor(left / size)}${unit}`);
      left %= size;
    }
  }
  if (left > 0 || parts.length === 0) parts.push(`${left}s`);
  return parts.join('');
}

/** Attempts that ended so; a record from before the history counts every earlier attempt, as it did then. */
function endedBy(job: JobRecord, reason: TerminationReason): number {
  return job.history ? job.history.filter((outcome) => outcome.reason === reason).length : job.attempt - 1;
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
  // Skipped jobs come from a dependency that failed or was aborted; left alone (a record edited by hand) they fail the run.
  if (jobs.some((job) => job.state === 'skipped')) return 'failed';
  return 'done';
}
