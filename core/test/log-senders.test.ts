import { describe, expect, it } from 'vitest';
import { clusterNames, logSenderVerdict } from '../src/index.js';

describe('logSenderVerdict', () => {
  const job = { attempt: 2, agentId: 'b', history: [{ attempt: 1, agentId: 'a' }] };

  it("takes an attempt's lines from the agent it was given to, now or before", () => {
    expect(logSenderVerdict(job, 2, 'b')).toBe('ok');
    expect(logSenderVerdict(job, 1, 'a')).toBe('ok');
  });

  it('refuses lines another agent wrote for that attempt', () => {
    expect(logSenderVerdict(job, 2, 'a')).toBe('forged');
    expect(logSenderVerdict(job, 1, 'b')).toBe('forged');
    expect(logSenderVerdict(job, 1, 'x')).toBe('forged');
  });

  it('cannot tell yet for an attempt newer than the view, or one not placed yet', () => {
    expect(logSenderVerdict(job, 3, 'b')).toBe('unknown');
    expect(logSenderVerdict({ attempt: 3, agentId: null, history: [] }, 3, 'c')).toBe('unknown');
  });

  it('takes lines stored before log subjects named their agent, and earlier attempts of a record with no history', () => {
    expect(logSenderVerdict(job, 2, undefined)).toBe('ok');
    expect(logSenderVerdict({ attempt: 2, agentId: 'b' }, 1, 'anyone')).toBe('ok');
  });
});

describe('log subjects', () => {
  const names = clusterNames('local');
  it('name the job and the agent that wrote the line; the old ones only the job', () => {
    expect(names.logSubjectParts(names.logSubject('r-1', 'job-1', 'local-ab-0-cd'))).toEqual({ jobId: 'job-1', sender: 'local-ab-0-cd' });
    expect(names.logSubjectParts(names.legacyLogSubject('r-1', 'job-1'))).toEqual({ jobId: 'job-1', sender: undefined });
    expect(names.logSubjectParts('kp.other.logs.r-1.job')).toBeUndefined();
  });
});
