import { describe, expect, it } from 'vitest';
import { AttemptHeaders } from '../src/render/attempt-headers.js';

describe('AttemptHeaders', () => {
  it('gives a job that ran once no header', () => {
    const headers = new AttemptHeaders(() => 1);
    expect([headers.before('a', 1), headers.before('a', 1)]).toEqual([undefined, undefined]);
  });

  it('opens each attempt of a job that ran several times, once', () => {
    const headers = new AttemptHeaders((job) => (job === 'a' ? 2 : 1));
    const seen = [headers.before('a', 1), headers.before('a', 1), headers.before('b', 1), headers.before('a', 2), headers.before('a', 2)];
    expect(seen).toEqual(['── attempt 1 ──', undefined, undefined, '── attempt 2 ──', undefined]);
  });

  it('opens the second attempt of a job that was requeued while its log was followed', () => {
    const headers = new AttemptHeaders(() => 1);
    expect([headers.before('a', 1), headers.before('a', 2)]).toEqual([undefined, '── attempt 2 ──']);
  });
});
