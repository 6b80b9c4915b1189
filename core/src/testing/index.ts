// Fixtures for tests of any package: records as Katapult stores them, with nothing but what a test sets.
import type { JobRecord } from '../lifecycle/job.js';

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
