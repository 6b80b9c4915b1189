import type { Assignment } from '../protocol/messages.js';

/** Variables Katapult sets in every job's container; a config may not set them itself. */
export const RESERVED_ENV_PREFIX = 'KATAPULT_';

/**
 * A job container's environment, as Docker takes it (`NAME=value`): the job's own variables, then what every
 * job is told about itself, as AWS Batch tells its array jobs their index: the run, the job's name as status
 * shows it, which copy of a `repeat` it is (0-based) and of how many, its attempt, its cpus and GPUs.
 */
export function jobEnvironment(
  assignment: Pick<Assignment, 'runId' | 'jobId' | 'attempt' | 'cpus' | 'gpus' | 'env' | 'jobIndex' | 'jobCount'>,
  secrets: Readonly<Record<string, string>> = {},
): string[] {
  const own = { ...(assignment.env ?? {}), ...secrets };
  const katapult: Record<string, string> = {
    KATAPULT_RUN_ID: assignment.runId,
    KATAPULT_JOB: assignment.jobId,
    KATAPULT_JOB_INDEX: String(assignment.jobIndex ?? 0),
    KATAPULT_JOB_COUNT: String(assignment.jobCount ?? 1),
    KATAPULT_ATTEMPT: String(assignment.attempt),
    KATAPULT_CPUS: String(assignment.cpus),
    KATAPULT_GPUS: String(assignment.gpus ?? 0),
  };
  return Object.entries({ ...own, ...katapult }).map(([name, value]) => `${name}=${value}`);
}
