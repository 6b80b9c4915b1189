import { describe, expect, it } from 'vitest';
import { attemptsToStop, type AgentRecord, type JobRecord } from '../src/index.js';

const agent = (agentId: string, running: AgentRecord['running']): AgentRecord => ({
  v: 1,
  agentId,
  instanceId: agentId,
  cpus: 2,
  startedAt: 0,
  at: 0,
  running,
});
const job = (id: string, patch: Partial<JobRecord>) =>
  ({ runId: 'r-1', id, attempt: 1, agentId: 'a', state: 'running', ...patch }) as JobRecord;

describe('attempts to stop', () => {
  const jobs = new Map([
    ['run', job('run', {})],
    ['cancelled', job('cancelled', { state: 'aborted' })],
    ['moved', job('moved', { attempt: 2, agentId: 'b' })],
    ['finished', job('finished', { state: 'done' })],
  ]);
  const jobOf = (_runId: string, jobId: string) => jobs.get(jobId);
  const ref = (jobId: string, attempt = 1) => ({ runId: 'r-1', jobId, attempt });

  it('stops cancelled attempts, superseded attempts and unknown jobs, and nothing that should still run', () => {
    const stops = attemptsToStop(
      [agent('a', [ref('run'), ref('cancelled'), ref('moved'), ref('finished'), ref('ghost')]), agent('b', [ref('moved', 2)])],
      jobOf,
    );
    expect(stops).toEqual([
      { agentId: 'a', ...ref('cancelled') },
      { agentId: 'a', ...ref('moved') },
      { agentId: 'a', ...ref('ghost') },
    ]);
  });
});
