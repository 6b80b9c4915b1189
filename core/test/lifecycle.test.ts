import { describe, expect, it } from 'vitest';
import { applyJobEvent, runStateOf, type JobRecord } from '../src/index.js';
import { jobRecord } from '../src/testing/index.js';

const job = jobRecord;

describe('job state machine', () => {
  it("hears an agent's report only when the attempt is that agent's", () => {
    const assigned = job({ state: 'running', agentId: 'agent-1', attempt: 1 });
    const foreign = applyJobEvent(assigned, { type: 'exited', attempt: 1, exitCode: 0, by: 'agent-2' }, 5);
    expect(foreign).toMatchObject({ changed: false, why: 'report from agent agent-2, but attempt 1 is on agent agent-1' });
    expect(applyJobEvent(job({ state: 'pending' }), { type: 'running', attempt: 1, by: 'agent-2' }, 5)).toMatchObject({
      changed: false,
      why: 'report from agent agent-2, but attempt 1 is on no agent',
    });
    expect(applyJobEvent(assigned, { type: 'exited', attempt: 1, exitCode: 0, by: 'agent-1' }, 5)).toMatchObject({
      changed: true,
      job: { state: 'done' },
    });
    // The coordinator's own events name no sender.
    expect(applyJobEvent(assigned, { type: 'agent_lost', attempt: 1 }, 5).changed).toBe(true);
  });

  it('goes pending -> assigned -> pulling -> running -> done', () => {
    let current = job();
    for (const event of [
      { type: 'assign', agentId: 'ag' },
      { type: 'pulling', attempt: 1 },
      { type: 'running', attempt: 1 },
      { type: 'exited', attempt: 1, exitCode: 0 },
    ] as const) {
      const result = applyJobEvent(current, event, 10);
      expect(result.changed).toBe(true);
      current = result.job;
    }
    expect(current).toMatchObject({ state: 'done', exitCode: 0, reason: 'exit_zero', agentId: 'ag', finishedAt: 10 });
  });

  it("keeps where the exiting attempt stored its outputs, and ignores a stale attempt's", () => {
    const outputs = { object: 'outputs/r-1/sim/2', missing: ['extra.dat'] };
    const done = applyJobEvent(job({ state: 'running', attempt: 2 }), { type: 'exited', attempt: 2, exitCode: 0, outputs }, 5);
    expect(done.job).toMatchObject({ state: 'done', outputs });
    const stale = applyJobEvent(job({ state: 'running', attempt: 2 }), { type: 'exited', attempt: 1, exitCode: 0, outputs }, 5);
    expect(stale).toMatchObject({ changed: false, job: { state: 'running', outputs: null } });
  });

  it('ends a job when its container stopped, not when its report came (after its log was stored)', () => {
    const running = job({ state: 'running', startedAt: 1_000 });
    expect(applyJobEvent(running, { type: 'exited', attempt: 1, exitCode: 0, ranMs: 250 }, 9_000).job.finishedAt).toBe(1_250);
    expect(applyJobEvent(running, { type: 'exited', attempt: 1, exitCode: 4, ranMs: 250 }, 9_000).job.finishedAt).toBe(1_250);
    // Never later than the report itself, whatever the two clocks say.
    expect(applyJobEvent(running, { type: 'exited', attempt: 1, exitCode: 0, ranMs: 60_000 }, 9_000).job.finishedAt).toBe(9_000);
    expect(applyJobEvent(running, { type: 'exited', attempt: 1, exitCode: 0 }, 9_000).job.finishedAt).toBe(9_000);
  });

  it('a non-zero exit fails the job, keeping its exit code', () => {
    const result = applyJobEvent(job({ state: 'running', agentId: 'ag' }), { type: 'exited', attempt: 1, exitCode: 3 }, 5);
    expect(result.job).toMatchObject({ state: 'failed', exitCode: 3, reason: 'exit_nonzero' });
  });

  it('a non-zero exit is retried only when the job asks for retries', () => {
    const result = applyJobEvent(job({ state: 'running', retries: 1 }), { type: 'exited', attempt: 1, exitCode: 3 }, 5);
    expect(result.job).toMatchObject({ state: 'pending', attempt: 2, agentId: null });
  });

  it('a lost agent requeues the job with attempt + 1 until the limit', () => {
    const lost = applyJobEvent(job({ state: 'running', agentId: 'ag' }), { type: 'agent_lost', attempt: 1 }, 5);
    expect(lost.job).toMatchObject({ state: 'pending', attempt: 2, agentId: null });
    const last = applyJobEvent(job({ state: 'running', attempt: 3 }), { type: 'agent_lost', attempt: 3 }, 5);
    expect(last.job).toMatchObject({ state: 'failed', reason: 'agent_lost' });
  });

  it('ignores reports about an earlier attempt', () => {
    const result = applyJobEvent(job({ state: 'running', attempt: 2 }), { type: 'exited', attempt: 1, exitCode: 0 }, 5);
    expect(result.changed).toBe(false);
    expect(result.job.state).toBe('running');
  });

  it('never leaves a final state', () => {
    const done = job({ state: 'done', exitCode: 0 });
    for (const event of [{ type: 'cancel' }, { type: 'running', attempt: 1 }, { type: 'assign', agentId: 'x' }] as const) {
      expect(applyJobEvent(done, event, 1).changed).toBe(false);
    }
  });

  it('derives the run state from its jobs', () => {
    expect(runStateOf([{ state: 'done' }, { state: 'running' }])).toBe('running');
    expect(runStateOf([{ state: 'done' }, { state: 'failed' }])).toBe('failed');
    expect(runStateOf([{ state: 'done' }, { state: 'aborted' }])).toBe('aborted');
    expect(runStateOf([{ state: 'done' }])).toBe('done');
  });
});

describe('timeouts', () => {
  it('a job killed past its timeout fails with the reason timeout, keeps its outputs, and is not retried', () => {
    const running = job({ state: 'running', agentId: 'ag', retries: 3, timeoutSeconds: 90, startedAt: 1 });
    const outputs = { object: 'out-1', missing: [] };
    const result = applyJobEvent(running, { type: 'exited', attempt: 1, exitCode: 137, timedOut: true, outputs }, 5);
    expect(result).toMatchObject({
      changed: true,
      job: { state: 'failed', reason: 'timeout', exitCode: 137, attempt: 1, outputs, message: 'killed: it ran past its timeout of 1m30s' },
    });
  });
});

describe('retries by cause', () => {
  const run = (current: JobRecord, exitCode: number) =>
    applyJobEvent(current, { type: 'exited', attempt: current.attempt, exitCode }, 5).job;
  const lose = (current: JobRecord) => applyJobEvent(current, { type: 'agent_lost', attempt: current.attempt }, 5).job;
  const start = (current: JobRecord) => ({ ...current, state: 'running' as const, agentId: 'ag' });

  it('retries only the listed exit codes, and says why another one was not retried', () => {
    const listed = job({ state: 'running', agentId: 'ag', retries: 2, retryOnExitCodes: [75], history: [] });
    const first = run(listed, 75);
    expect(first).toMatchObject({
      state: 'pending',
      attempt: 2,
      history: [{ attempt: 1, reason: 'exit_nonzero', exitCode: 75, agentId: 'ag' }],
    });
    const second = run(start(first), 3);
    expect(second).toMatchObject({
      state: 'failed',
      exitCode: 3,
      message: 'exit code 3 is not one of retry_on_exit_codes (75): not retried',
    });
    expect(second.history).toHaveLength(2);
  });

  it('counts failures against retries and lost instances against max_attempts, each on its own', () => {
    let current = job({ state: 'running', agentId: 'ag', retries: 1, maxAttempts: 2, history: [] });
    current = lose(current); // loss 1 of 2: requeued
    expect(current).toMatchObject({ state: 'pending', attempt: 2 });
    current = run(start(current), 9); // failure 1 of 1 retry: requeued, though attempt 2 is past retries
    expect(current).toMatchObject({ state: 'pending', attempt: 3 });
    current = lose(start(current)); // loss 2 of 2: failed
    expect(current).toMatchObject({ state: 'failed', reason: 'agent_lost', message: 'its agent was lost 2 times', attempt: 3 });
    expect(current.history!.map((outcome) => outcome.reason)).toEqual(['agent_lost', 'exit_nonzero', 'agent_lost']);
  });
});
