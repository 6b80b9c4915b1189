import { describe, expect, it } from 'vitest';
import { TailBuffer } from '../../src/follow/tail-buffer.js';

describe('--tail', () => {
  it("keeps each job's last N lines, in the order they came", () => {
    const tail = new TailBuffer<string>(2);
    for (const [job, line] of [
      ['a', 'a1'],
      ['b', 'b1'],
      ['a', 'a2'],
      ['a', 'a3'],
      ['c', 'c1'],
      ['b', 'b2'],
      ['b', 'b3'],
    ] as const) {
      tail.push(job, line);
    }
    expect(tail.drain()).toEqual(['a2', 'a3', 'c1', 'b2', 'b3']);
    expect(tail.drain()).toEqual([]);
  });

  it('keeps everything when there are fewer lines than N, and nothing for 0', () => {
    const all = new TailBuffer<string>(10);
    all.push('a', 'a1');
    all.push('b', 'b1');
    expect(all.drain()).toEqual(['a1', 'b1']);
    const none = new TailBuffer<string>(0);
    none.push('a', 'a1');
    expect(none.drain()).toEqual([]);
  });
});
