import { describe, expect, it } from 'vitest';
import { clusterNames, foreignOutputs, type JobReport } from '../src/index.js';

const names = clusterNames('local');
const exited = (object: string | null): JobReport => ({
  v: 1,
  runId: 'r-1',
  jobId: 'job',
  attempt: 2,
  agentId: 'agent-a',
  type: 'exited',
  exitCode: 0,
  outputs: { object, missing: [] },
  at: 0,
});

describe('foreignOutputs', () => {
  it("takes outputs stored under the sender's own subject for that attempt, or none", () => {
    expect(foreignOutputs(names, exited(names.outputSubject('agent-a', 'r-1', 'job', 2)), 'agent-a')).toBeUndefined();
    expect(foreignOutputs(names, exited(null), 'agent-a')).toBeUndefined();
  });

  it("refuses outputs under another agent's subject, another attempt's, or in the shared file store", () => {
    for (const object of [
      names.outputSubject('agent-b', 'r-1', 'job', 2),
      names.outputSubject('agent-a', 'r-1', 'job', 1),
      'outputs/r-1/job/2',
    ]) {
      expect(foreignOutputs(names, exited(object), 'agent-a')).toMatch(/not at the sender's kp\.local\.outputs\.agent-a\.r-1\.job\.2/);
    }
  });
});
