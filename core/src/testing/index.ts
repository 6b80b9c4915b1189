// Fixtures for tests of any package: records as Katapult stores them, with nothing but what a test sets.
import type { JobRecord } from '../lifecycle/job.js';
import type { JobView } from '../protocol/api.js';

/**
 * A job record as a run stores it before any event (pending, attempt 1), holding only the fields every stored
 * record has: the optional ones are absent, as on records stored by older versions, unless `patch` sets them.
 */
export function jobRecord(patch: Partial<JobRecord> = {}): JobRecord {
  return {
    runId: 'r-1',
    id: 'a',
    index: 0,
    envName: 'default',
    image: 'img',
    runCommand: 'true',
    files: [],
    outputFiles: [],
    outputs: null,
    cpusReq: 1,
    memoryBytes: null,
    network: 'bridge',
    retries: 0,
    maxAttempts: 3,
    state: 'pending',
    attempt: 1,
    agentId: null,
    exitCode: null,
    reason: null,
    message: null,
    createdAt: 0,
    assignedAt: null,
    startedAt: null,
    finishedAt: null,
    ...patch,
  };
}

/** A job as the API shows it, pending and never started, with only the fields every view has unless `patch` sets more. */
export function jobView(patch: Partial<JobView> = {}): JobView {
  return {
    id: 'a',
    runId: 'r-1',
    envName: 'default',
    state: 'pending',
    attempt: 1,
    agentId: null,
    exitCode: null,
    reason: null,
    message: null,
    outputFiles: [],
    outputs: null,
    createdAt: 0,
    startedAt: null,
    finishedAt: null,
    ...patch,
  };
}
