import { describe, expect, it } from 'vitest';
import { formatJobUser, JOB_USER, parseJobUser } from '../src/index.js';

describe('job user label', () => {
  it('round-trips the job user as uid:gid', () => {
    expect(formatJobUser(JOB_USER)).toBe('1000:1000');
    expect(parseJobUser(formatJobUser(JOB_USER))).toEqual({ uid: 1000, gid: 1000 });
    expect(parseJobUser('2000:100')).toEqual({ uid: 2000, gid: 100 });
  });

  it('reads nothing from a name, root, a missing gid or junk', () => {
    for (const label of [
      'katapult',
      'katapult:katapult',
      '0:0',
      '0:1000',
      '1000',
      '1000:',
      ':1000',
      '-1:5',
      '1000:1000:1',
      '1e3:1000',
      '',
    ]) {
      expect(parseJobUser(label), label).toBeNull();
    }
  });
});
