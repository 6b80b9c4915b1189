import { describe, expect, it } from 'vitest';
import type { RunView } from '@katapult/core';
import { jobView } from '@katapult/core/testing';
import { logsComplete, type LoggedJob } from '../../src/follow/log-end.js';
import { LogEndWatch } from '../../src/follow/log-follow.js';

const job = (id: string, patch: Partial<LoggedJob> = {}): LoggedJob => ({
  id,
  state: 'done',
  attempt: 1,
  reason: 'exit_zero',
  agentId: 'local-0-abcd',
  ...patch,
});

describe('when a followed log is complete', () => {
  it('needs every job ended and the end-of-log record of its current attempt read', () => {
    const jobs = [job('a'), job('b', { state: 'failed', reason: 'exit_nonzero', attempt: 2 })];
    expect(
      logsComplete(
        jobs,
        new Map([
          ['a', 1],
          ['b', 2],
        ]),
      ),
    ).toBe(true);
    expect(
      logsComplete(
        jobs,
        new Map([
          ['a', 1],
          ['b', 1],
        ]),
      ),
    ).toBe(false);
    expect(logsComplete(jobs, new Map([['a', 1]]))).toBe(false);
    expect(logsComplete([job('a', { state: 'running', reason: null })], new Map([['a', 1]]))).toBe(false);
  });

  it('does not wait for records no agent writes: a lost agent, a job cancelled before any agent took it', () => {
    const jobs = [
      job('lost', { state: 'failed', reason: 'agent_lost', attempt: 3 }),
      job('never', { state: 'aborted', reason: 'cancelled', agentId: null }),
    ];
    expect(logsComplete(jobs, new Map())).toBe(true);
    expect(logsComplete([job('stopped', { state: 'aborted', reason: 'cancelled' })], new Map())).toBe(false);
  });
});

describe('logs --follow stopping', () => {
  const runWith = (jobs: LoggedJob[]): RunView => ({
    id: 'r-1',
    project: 'p',
    configFile: 'katapult.yaml',
    state: jobs.every((j) => j.state === 'done') ? 'done' : 'running',
    createdAt: 0,
    finishedAt: null,
    jobs: jobs.map((j) => jobView(j)),
  });

  it('goes on while a job runs, stops once all ended with their records read, and gives up on a missing record after a grace', async () => {
    let now = 0;
    let view = runWith([job('a'), job('b', { state: 'running', reason: null })]);
    let asked = 0;
    const watch = new LogEndWatch({ getRun: async () => (asked++, view) }, 'r-1', undefined, () => now);
    expect(await watch.complete(new Map([['a', 1]]))).toBe(false);
    view = runWith([job('a'), job('b')]);
    now = 500;
    // The run view is asked for at most once a second.
    expect(
      await watch.complete(
        new Map([
          ['a', 1],
          ['b', 1],
        ]),
      ),
    ).toBe(false);
    expect(asked).toBe(1);
    now = 1_000;
    expect(await watch.complete(new Map([['a', 1]]))).toBe(false);
    now = 10_999;
    expect(await watch.complete(new Map([['a', 1]]))).toBe(false);
    now = 11_000;
    expect(await watch.complete(new Map([['a', 1]]))).toBe(true);
  });

  it('follows only the job asked for', async () => {
    const view = runWith([job('a'), job('b', { state: 'running', reason: null })]);
    const watch = new LogEndWatch({ getRun: async () => view }, 'r-1', 'a', () => 0);
    expect(await watch.complete(new Map([['a', 1]]))).toBe(true);
  });
});
