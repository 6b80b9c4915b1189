import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LineSplitter,
  LogChunker,
  LogJoiner,
  logRecordCodec,
  MIN_LOG_CHUNK_BYTES,
  jsonStringBytes,
  type LogChunkRecord,
  type LogEntry,
  type LogPiece,
  type LogRecord,
} from '../src/index.js';

interface Line {
  stream: 'stdout' | 'stderr';
  text: string;
  at: number;
}

const line = fc.record({
  stream: fc.constantFrom('stdout' as const, 'stderr' as const),
  // Every kind of code unit, lone surrogates and control characters included: JSON escapes some to 6 bytes.
  text: fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 50 }), fc.constant('')),
  at: fc.integer({ min: 0, max: 30 }),
});
/** Lines with non-decreasing times, as an agent reads them. */
const lines = fc.array(line, { maxLength: 60 }).map((drawn) => {
  let at = 1_733_000_000_000;
  return drawn.map((entry) => ({ ...entry, at: (at += entry.at) }));
});
const maxBytes = fc.integer({ min: MIN_LOG_CHUNK_BYTES, max: 2_000 });

function encodeAll(input: Line[], bytes: number, pieceChars = Infinity): LogChunkRecord[] {
  const chunker = new LogChunker({ attempt: 1, maxBytes: bytes });
  const chunks: LogChunkRecord[] = [];
  for (const { stream, text, at } of input) {
    for (const piece of cut(text, pieceChars)) chunks.push(...chunker.push({ stream, at, ...piece }));
  }
  const last = chunker.flush();
  return last ? [...chunks, last] : chunks;
}

/** A line as an agent may hand it over: whole, or in parts of at most pieceChars. */
function cut(text: string, pieceChars: number): Omit<LogPiece, 'stream' | 'at'>[] {
  if (text.length <= pieceChars) return [{ text, ends: true }];
  const pieces: Omit<LogPiece, 'stream' | 'at'>[] = [];
  for (let start = 0; start < text.length; start += pieceChars) {
    pieces.push({ text: text.slice(start, start + pieceChars), ends: start + pieceChars >= text.length });
  }
  return pieces;
}

/** Through the wire codec, as a reader gets them. */
function decodeAll(records: LogRecord[]): LogEntry[] {
  const joiner = new LogJoiner();
  return records.flatMap((record) => {
    const decoded = logRecordCodec.decode(logRecordCodec.encode(record));
    if (!decoded.ok) throw new Error(decoded.error);
    return joiner.read(decoded.value);
  });
}

const asLines = (entries: LogEntry[]) =>
  entries.flatMap((entry) => ('eof' in entry ? [] : [{ stream: entry.stream, text: entry.line, at: entry.at }]));

describe('log chunks (pure)', () => {
  it('decode(encode(lines)) gives the same lines, streams and times, in order, for any byte bound', () => {
    fc.assert(
      fc.property(lines, maxBytes, (input, bytes) => {
        expect(asLines(decodeAll(encodeAll(input, bytes)))).toEqual(input);
      }),
      { numRuns: 400 },
    );
  });

  it('every chunk, as JSON, stays within its byte bound', () => {
    fc.assert(
      fc.property(lines, maxBytes, (input, bytes) => {
        for (const chunk of encodeAll(input, bytes)) expect(logRecordCodec.encode(chunk).length).toBeLessThanOrEqual(bytes);
      }),
      { numRuns: 400 },
    );
  });

  it('lines already cut into parts by the agent come back whole, whatever else is between their parts', () => {
    fc.assert(
      fc.property(lines, maxBytes, fc.integer({ min: 1, max: 40 }), (input, bytes, pieceChars) => {
        const chunker = new LogChunker({ attempt: 1, maxBytes: bytes });
        const chunks: LogChunkRecord[] = [];
        // stdout's and stderr's pieces interleaved, as two streams read at once give them.
        const queues = { stdout: [] as LogPiece[], stderr: [] as LogPiece[] };
        for (const { stream, text, at } of input) for (const piece of cut(text, pieceChars)) queues[stream].push({ stream, at, ...piece });
        while (queues.stdout.length + queues.stderr.length > 0) {
          const from = queues.stdout.length > 0 && (queues.stderr.length === 0 || queues.stdout.length % 2 === 0) ? 'stdout' : 'stderr';
          chunks.push(...chunker.push(queues[from].shift()!));
        }
        const last = chunker.flush();
        const got = asLines(decodeAll(last ? [...chunks, last] : chunks));
        for (const stream of ['stdout', 'stderr'] as const) {
          expect(got.filter((entry) => entry.stream === stream).map((entry) => entry.text)).toEqual(
            input.filter((entry) => entry.stream === stream).map((entry) => entry.text),
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('chunks stored out of order (a retry after a reconnect) or twice are read in chunk order, once', () => {
    fc.assert(
      fc.property(lines, fc.integer({ min: 0, max: 1_000 }), (input, seed) => {
        const chunks = encodeAll(input, 300);
        // Each chunk may come after at most 7 later ones (the agent's window), and some come twice.
        const shuffled = [...chunks].map((chunk, index) => ({ chunk, key: index + ((seed * (index + 7)) % 8) }));
        shuffled.sort((a, b) => a.key - b.key);
        const stored: LogRecord[] = shuffled.flatMap(({ chunk }, index) => (index % 3 === seed % 3 ? [chunk, chunk] : [chunk]));
        stored.push({ v: 1, attempt: 1, eof: true, exitCode: 0, at: 1 });
        const entries = decodeAll(stored);
        expect(asLines(entries)).toEqual(input);
        expect(entries.at(-1)).toEqual({ v: 1, attempt: 1, eof: true, exitCode: 0, at: 1 });
      }),
      { numRuns: 200 },
    );
  });

  it('a 3 MB line goes in parts under the bound and comes back whole', () => {
    const big = 'x'.repeat(3 * 1024 * 1024 - 1) + 'é';
    const chunks = encodeAll(
      [
        { stream: 'stdout', text: big, at: 5 },
        { stream: 'stdout', text: 'after', at: 6 },
      ],
      64 * 1024,
    );
    expect(chunks.length).toBeGreaterThan(40);
    for (const chunk of chunks) expect(logRecordCodec.encode(chunk).length).toBeLessThanOrEqual(64 * 1024);
    expect(asLines(decodeAll(chunks)).map((entry) => entry.text)).toEqual([big, 'after']);
  });

  it('reads the single-line records agents stored before chunks', () => {
    const old: LogRecord[] = [
      { v: 1, attempt: 1, stream: 'stdout', line: 'one', at: 1 },
      { v: 1, attempt: 1, stream: 'stderr', line: 'two', at: 2 },
      { v: 1, attempt: 1, eof: true, exitCode: 3, at: 3 },
    ];
    expect(decodeAll(old)).toEqual(old);
  });

  it('a line cut short (its attempt ended without its last part) is given as it is at the end', () => {
    const chunker = new LogChunker({ attempt: 2, maxBytes: 1_000 });
    chunker.push({ stream: 'stderr', text: 'half of', at: 10, ends: false });
    const joiner = new LogJoiner();
    expect(joiner.read(chunker.flush()!)).toEqual([]);
    expect(joiner.read({ v: 1, attempt: 2, eof: true, exitCode: null, at: 11 })).toEqual([
      { v: 1, attempt: 2, stream: 'stderr', line: 'half of', at: 10 },
      { v: 1, attempt: 2, eof: true, exitCode: null, at: 11 },
    ]);
  });

  it('counts the JSON bytes of any string exactly', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(jsonStringBytes(text)).toBe(new TextEncoder().encode(JSON.stringify(text)).length);
      }),
    );
  });
});

describe('line splitter (pure)', () => {
  const readlineLines = (text: string) => {
    const parts = text.split(/\r\n|\n|\r/);
    if (parts.at(-1) === '') parts.pop();
    return parts;
  };

  it('cuts any text, however it is delivered, into the lines readline would give, long ones in parts', () => {
    const text = fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('\n', '\r', '\r\n', '\n\n', 'é', '\ud83d\ude00')), {
      maxLength: 40,
    });
    fc.assert(
      fc.property(text, fc.array(fc.integer({ min: 0, max: 30 })), fc.integer({ min: 1, max: 12 }), (bits, cuts, maxChars) => {
        const whole = bits.join('');
        const splitter = new LineSplitter(maxChars);
        const pieces: { text: string; ends: boolean }[] = [];
        let at = 0;
        for (const length of [...cuts, Infinity]) {
          pieces.push(...splitter.push(whole.slice(at, at + length)));
          at += length;
          if (at >= whole.length) break;
        }
        pieces.push(...splitter.end());
        const joined: string[] = [];
        let current = '';
        for (const piece of pieces) {
          expect(piece.text.length).toBeLessThanOrEqual(maxChars);
          current += piece.text;
          if (piece.ends) {
            joined.push(current);
            current = '';
          }
        }
        expect(current).toBe('');
        expect(joined).toEqual(readlineLines(whole));
      }),
      { numRuns: 500 },
    );
  });
});
