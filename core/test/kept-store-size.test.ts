import { describe, expect, it } from 'vitest';
import { MIN_JETSTREAM_STORE_BYTES, parseKeptStoreSize, storeSizeAtStart } from '../src/index.js';

describe("the store size kept beside a stack's data", () => {
  it('reads a positive whole number of bytes, and nothing else', () => {
    expect(parseKeptStoreSize('123456789\n')).toBe(123_456_789);
    for (const text of [undefined, '', 'lots', '-5', '1.5', '0']) expect(parseKeptStoreSize(text)).toBeUndefined();
  });

  it('stays what was kept at a start; is chosen from the free space, and kept, when there is none', () => {
    expect(storeSizeAtStart('500000000\n', 10)).toEqual({ bytes: 500_000_000 });
    const chosen = storeSizeAtStart(undefined, 4 * MIN_JETSTREAM_STORE_BYTES);
    expect(chosen).toEqual({ bytes: 3 * MIN_JETSTREAM_STORE_BYTES, keep: `${3 * MIN_JETSTREAM_STORE_BYTES}\n` });
    expect(storeSizeAtStart('garbage', 4 * MIN_JETSTREAM_STORE_BYTES)).toEqual(chosen);
  });
});
