import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogPiece } from '@katapult/core';
import { forwardOutput, type LogOutput } from '../src/runner/job-output.js';

/** Docker's multiplexed framing: [stream, 0, 0, 0, size (u32 BE)] then the bytes. */
function frame(stream: 1 | 2, bytes: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(bytes.length, 4);
  return Buffer.concat([header, bytes]);
}

/** Joins pieces back into lines per stream; `room` pieces are taken before it says to hold back. */
class Collector implements LogOutput {
  readonly lines: string[] = [];
  private readonly parts = { stdout: '', stderr: '' };
  private waiting: (() => void) | undefined;
  heldBack = 0;
  constructor(private room = Infinity) {}
  logPiece(piece: LogPiece): boolean {
    this.parts[piece.stream] += piece.text;
    if (piece.ends) {
      this.lines.push(`${piece.stream}: ${this.parts[piece.stream]}`);
      this.parts[piece.stream] = '';
    }
    this.room -= 1;
    if (this.room > 0) return true;
    this.heldBack += 1;
    return false;
  }
  whenLogWritable(): Promise<void> {
    return new Promise((resolve) => (this.waiting = resolve));
  }
  /** Makes room again, as the shipper does when a chunk is stored. */
  release(room: number): void {
    this.room = room;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}

describe('a container attach stream into pieces of lines', () => {
  it('gives every line of both streams, however frames and reads are cut, multibyte characters whole', async () => {
    const line = fc.array(fc.constantFrom('a', 'b', 'é', '😀', ' ', '\t'), { maxLength: 12 }).map((characters) => characters.join(''));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(1 as const, 2 as const), line), { maxLength: 20 }),
        fc.integer({ min: 1, max: 9 }),
        async (written, cut) => {
          // Frames split the bytes anywhere (Docker reads the container's pipe in whatever sizes), even inside a character.
          const bytes = Buffer.concat(
            written.flatMap(([stream, text]) => {
              const encoded = Buffer.from(`${text}\n`);
              const middle = Math.floor(encoded.length / 2);
              return [frame(stream, encoded.subarray(0, middle)), frame(stream, encoded.subarray(middle))];
            }),
          );
          const attach = new PassThrough();
          const collector = new Collector();
          const done = forwardOutput(attach, collector, 4);
          for (let offset = 0; offset < bytes.length; offset += cut) attach.write(bytes.subarray(offset, offset + cut));
          attach.end();
          await done;
          const expected = written.map(([stream, text]) => `${stream === 1 ? 'stdout' : 'stderr'}: ${text}`);
          for (const stream of ['stdout', 'stderr']) {
            expect(collector.lines.filter((entry) => entry.startsWith(stream))).toEqual(
              expected.filter((entry) => entry.startsWith(stream)),
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads no further while the output holds back, and goes on when it has room', async () => {
    const attach = new PassThrough();
    const collector = new Collector(5);
    const done = forwardOutput(attach, collector);
    const frames = 5_000;
    for (let index = 0; index < frames; index++) attach.write(frame(1, Buffer.from(`${String(index).padStart(99, '0')}\n`)));
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    // Held back: the rest waits unread in the attach stream (its socket, for Docker), not in the agent.
    expect(collector.heldBack).toBe(1);
    expect(collector.lines.length).toBeLessThan(frames);
    expect(attach.readableLength + attach.writableLength).toBeGreaterThan(frames * 108 - 2 * 64 * 1024);
    collector.release(Infinity);
    attach.end();
    await done;
    expect(collector.lines.length).toBe(frames);
    expect(collector.lines.at(-1)).toBe(`stdout: ${String(frames - 1).padStart(99, '0')}`);
  });

  it('ends the output where the stream was cut, the last line unfinished included', async () => {
    const attach = new PassThrough();
    const collector = new Collector();
    const done = forwardOutput(attach, collector);
    attach.write(frame(2, Buffer.from('whole\nhalf')));
    attach.destroy(new Error('connection reset'));
    await done;
    expect(collector.lines).toEqual(['stderr: whole', 'stderr: half']);
  });
});
