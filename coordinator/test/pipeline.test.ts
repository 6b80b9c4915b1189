import { describe, expect, it } from 'vitest';
import { KeyedBatcher } from '../src/pipeline.js';

/** A promise and its resolver, to hold a call open until the test lets it go. */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('KeyedBatcher', () => {
  it('hands the items a key gets while its work runs to one later call, in order; other keys run beside it', async () => {
    const calls: [string, number[]][] = [];
    const first = gate();
    const done = gate();
    const batcher = new KeyedBatcher<number>(100, async (key, items) => {
      calls.push([key, items]);
      if (items[0] === 1) await first.opened;
      if (items.includes(4)) done.open();
    });
    await batcher.push('a', 1);
    // Let the first call start, then queue more for `a` (held back) and one for `b` (not held back).
    await new Promise((resolve) => setImmediate(resolve));
    await batcher.push('a', 2);
    await batcher.push('b', 9);
    await batcher.push('a', 3);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([
      ['a', [1]],
      ['b', [9]],
    ]);
    await batcher.push('a', 4);
    first.open();
    await done.opened;
    expect(calls).toEqual([
      ['a', [1]],
      ['b', [9]],
      ['a', [2, 3, 4]],
    ]);
  });

  it('takes the items pushed in one turn of the event loop together', async () => {
    const calls: number[][] = [];
    const done = gate();
    const batcher = new KeyedBatcher<number>(100, async (_key, items) => {
      calls.push(items);
      done.open();
    });
    await batcher.push('job', 1);
    await batcher.push('job', 2);
    await done.opened;
    expect(calls).toEqual([[1, 2]]);
  });

  it('holds a push back while `limit` items wait, and lets it in as they are done', async () => {
    const release = gate();
    const seen: number[] = [];
    const batcher = new KeyedBatcher<number>(2, async (_key, items) => {
      seen.push(...items);
      await release.opened;
    });
    await batcher.push('a', 1);
    await batcher.push('b', 2);
    let third = false;
    const pushed = batcher.push('c', 3).then(() => (third = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(third).toBe(false);
    release.open();
    await pushed;
    expect(third).toBe(true);
  });

  it('goes on after a call fails', async () => {
    const calls: number[][] = [];
    const done = gate();
    const batcher = new KeyedBatcher<number>(10, async (_key, items) => {
      calls.push(items);
      if (items[0] === 1) throw new Error('refused');
      done.open();
    });
    await batcher.push('a', 1);
    await new Promise((resolve) => setImmediate(resolve));
    await batcher.push('a', 2);
    await done.opened;
    expect(calls).toEqual([[1], [2]]);
  });
});
