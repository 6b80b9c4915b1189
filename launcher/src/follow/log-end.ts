import { isFinal, type JobView } from '@katapult/core/light';

export type LoggedJob = Pick<JobView, 'id' | 'state' | 'attempt' | 'reason' | 'agentId'>;

/**
 * Whether an ended job's current attempt writes an end-of-log record. An agent writes one whenever it ran
 * (or tried to start) the attempt, before reporting its outcome; a lost agent writes none, and neither does
 * a job cancelled before any agent took it.
 */
export function expectsEndOfLog(job: LoggedJob): boolean {
  if (job.reason === 'agent_lost' || job.reason === 'dependency') return false;
  if (job.reason === 'cancelled') return job.agentId !== null;
  return true;
}

/**
 * A followed log is complete once every job has ended and each one's current attempt has its end-of-log
 * record read (`ended`: job → the latest attempt whose record was read).
 */
export function logsComplete(jobs: readonly LoggedJob[], ended: ReadonlyMap<string, number>): boolean {
  return jobs.every((job) => isFinal(job.state) && (!expectsEndOfLog(job) || (ended.get(job.id) ?? 0) >= job.attempt));
}
