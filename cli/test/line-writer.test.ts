import { describe, expect, it } from 'vitest';
import { LineWriter } from '../src/render/line-writer.js';

describe('line writer', () => {
  it('writes lines in blocks once they reach the bound, and the rest on flush, in order', () => {
    const writes: string[] = [];
    const writer = new LineWriter((text) => writes.push(text), 10);
    for (const line of ['one', 'two', 'three', 'four']) writer.line(line);
    expect(writes).toEqual(['one\ntwo\nthree\n']);
    writer.flush();
    writer.flush();
    expect(writes).toEqual(['one\ntwo\nthree\n', 'four\n']);
  });

  it('keeps empty lines', () => {
    const writes: string[] = [];
    const writer = new LineWriter((text) => writes.push(text));
    writer.line('');
    writer.line('');
    writer.flush();
    expect(writes.join('')).toBe('\n\n');
  });
});
