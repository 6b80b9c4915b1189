import { describe, expect, it } from 'vitest';
import type { JobView, RunView } from '@katapult/core';
import { jobView } from '@katapult/core/testing';
import { reached } from '../src/wait-until.js';

const job = (id: string, state: JobView['state'], exitCode: number | null = null): JobView =>
  jobView({ id, runId: 'r-20261125-081502-3fa9', envName: 'base', state, agentId: state === 'pending' ? null : 'local-0-3fa9', exitCode });
const run = (state: RunView['state'], jobs: JobView[]): RunView => ({
  id: 'r-20261125-081502-3fa9',
  project: 'p',
  configFile: 'k.yaml',
  state,
  createdAt: 0,
  finishedAt: null,
  jobs,
});

describe('what RunHandle.wait waits for', () => {
  it('over: once every job has ended, whichever way', () => {
    expect(reached(run('running', [job('a', 'done', 0), job('b', 'running')]), 'over')).toBe(false);
    expect(reached(run('failed', [job('a', 'done', 0), job('b', 'failed', 3)]), 'over')).toBe(true);
    expect(reached(run('aborted', [job('a', 'aborted')]), 'over')).toBe(true);
  });

  it('started: once every job is running or has ended', () => {
    expect(reached(run('running', [job('a', 'running'), job('b', 'pulling')]), 'started')).toBe(false);
    expect(reached(run('running', [job('a', 'running'), job('b', 'done', 0)]), 'started')).toBe(true);
  });

  it('done: once every job is done, and an error as soon as one cannot be', () => {
    expect(reached(run('running', [job('a', 'done', 0), job('b', 'running')]), 'done')).toBe(false);
    expect(reached(run('done', [job('a', 'done', 0), job('b', 'done', 0)]), 'done')).toBe(true);
    expect(() => reached(run('running', [job('a', 'failed', 3), job('b', 'running')]), 'done')).toThrowError(
      expect.objectContaining({
        code: 'KP_JOB_FAILED',
        exitCode: 1,
        message: 'a failed with exit code 3, so run r-20261125-081502-3fa9 cannot end with every job done',
        hint: 'katapult logs a --run r-20261125-081502-3fa9',
      }),
    );
    expect(() => reached(run('running', [job('a', 'aborted')]), 'done')).toThrowError('a aborted, so run');
  });
});
