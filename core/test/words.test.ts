import { describe, expect, it } from 'vitest';
import { jobContainerName, jobStateCounts, plural } from '../src/light.js';

describe('words', () => {
  it('a count with its noun, singular only for one', () => {
    expect([0, 1, 2].map((n) => plural(n, 'job'))).toEqual(['0 jobs', '1 job', '2 jobs']);
    expect(`${plural(1, 'job')} on ${plural(1, 'instance')}`).toBe('1 job on 1 instance');
  });

  it("counts jobs by state in the order of a job's life", () => {
    expect(jobStateCounts([{ state: 'failed' }, { state: 'done' }, { state: 'running' }, { state: 'done' }])).toBe(
      '1 running, 2 done, 1 failed',
    );
  });

  it("names a job's container kp-<run>-<job>-<attempt>, within Docker's rules", () => {
    expect(jobContainerName('r-20261201-101500-ab12', 'count-1', 2)).toBe('kp-r-20261201-101500-ab12-count-1-2');
    expect(jobContainerName('r-1', 'sweep/a b:c', 1)).toBe('kp-r-1-sweep-a-b-c-1');
    const long = jobContainerName('r-1', 'x'.repeat(300), 12);
    expect(long.length).toBe(200);
    expect(long.endsWith('x-12')).toBe(true);
  });
});
