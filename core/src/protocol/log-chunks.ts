/**
 * A job's output travels as chunks (LogChunkRecord): many entries per message, bounded in bytes, each entry a
 * whole line or a part of one. LogChunker packs an agent's pieces into chunks; LogJoiner turns the records of
 * one job's log subject back into lines, in order. Both are pure: the agent and the readers do the I/O.
 */
import type { LogChunkRecord, LogEntry, LogRecord } from './messages.js';

export type LogStream = 'stdout' | 'stderr';

/** A piece of a job's output as the agent read it: a line, or (ends: false) a part continued by the next piece of its stream. */
export interface LogPiece {
  stream: LogStream;
  text: string;
  at: number;
  ends: boolean;
}

/** The defaults the agent ships with: a chunk leaves when it holds this many bytes, or this long after its first entry. */
export const LOG_CHUNK_BYTES = 64 * 1024;
export const LOG_CHUNK_MS = 20;
/** Chunks an agent has sent and not yet seen stored; the next waits for the oldest of them. */
export const LOG_WINDOW = 8;
/**
 * How far ahead of the next chunk a reader keeps chunks that arrived early (a retry after a reconnect can
 * store a chunk after later ones, but never LOG_WINDOW or more later ones). Past it, the missing chunk is given up.
 */
export const LOG_MAX_HELD = 64;

/** The most an envelope (every field but the entries' columns) can take, with 16-digit numbers and 24-character times. */
const ENVELOPE_BYTES = 160;
export const MIN_LOG_CHUNK_BYTES = ENVELOPE_BYTES + 96;

/** Characters JSON writes as more than one byte: the rest, printable ASCII, count one each. */
const WIDE = /["\\\u0000-\u001f\u0080-\uffff]/;

/** UTF-8 bytes of JSON.stringify(text), without building it. */
export function jsonStringBytes(text: string): number {
  if (!WIDE.test(text)) return text.length + 2;
  let bytes = 2;
  for (let i = 0; i < text.length; i++) bytes += codeUnitBytes(text, i);
  return bytes;
}

/** JSON bytes of the code unit at i; a surrogate pair counts 4 at its high half and 0 at its low half. */
function codeUnitBytes(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 0x80) {
    if (c === 0x22 || c === 0x5c || c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d) return 2;
    return c < 0x20 ? 6 : 1;
  }
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c <= 0xdbff) return isLow(text.charCodeAt(i + 1)) ? 4 : 6;
  if (c >= 0xdc00 && c <= 0xdfff) return isHigh(text.charCodeAt(i - 1)) ? 0 : 6;
  return 3;
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

const digits = (n: number) => String(n).length;

interface OpenChunk {
  at: number;
  lines: string[];
  dt: number[];
  err: number[];
  part: number[];
  bytes: number;
}

/**
 * Packs one attempt's pieces, in the order they were read, into chunks whose JSON is at most maxBytes.
 * A piece too big for an empty chunk is cut into parts; a piece that does not fit what is left of the
 * current chunk closes it. Nothing is dropped and nothing is reordered.
 */
export class LogChunker {
  private open: OpenChunk | undefined;
  private sequence = 0;

  constructor(private readonly options: { attempt: number; maxBytes: number }) {
    if (options.maxBytes < MIN_LOG_CHUNK_BYTES) throw new RangeError(`a log chunk needs at least ${MIN_LOG_CHUNK_BYTES} bytes`);
  }

  /** JSON bytes of the chunk being filled (0 when there is none). */
  get pendingBytes(): number {
    return this.open?.bytes ?? 0;
  }

  /** The chunks this piece completed, oldest first; the piece itself may stay in the chunk being filled. */
  push(piece: LogPiece): LogChunkRecord[] {
    const done: LogChunkRecord[] = [];
    let text = piece.text;
    for (;;) {
      const chunk = (this.open ??= { at: piece.at, lines: [], dt: [], err: [], part: [], bytes: ENVELOPE_BYTES });
      const index = chunk.lines.length;
      const dt = Math.round(piece.at - chunk.at);
      const fixed = 1 + digits(dt) + 1 + (piece.stream === 'stderr' ? digits(index) + 1 : 0);
      const room = this.options.maxBytes - chunk.bytes - fixed;
      const whole = jsonStringBytes(text) + (piece.ends ? 0 : digits(index) + 1);
      if (whole <= room) {
        this.append(chunk, text, dt, piece.stream, !piece.ends, whole + fixed);
        return done;
      }
      if (index > 0) {
        done.push(this.close());
        continue;
      }
      // An empty chunk and still too big: as much as fits goes as a part, the rest starts the next chunk.
      const cut = prefixFitting(text, room - (digits(index) + 1));
      const head = text.slice(0, cut);
      this.append(chunk, head, dt, piece.stream, true, jsonStringBytes(head) + digits(index) + 1 + fixed);
      done.push(this.close());
      text = text.slice(cut);
    }
  }

  /** Closes the chunk being filled, if any. */
  flush(): LogChunkRecord | undefined {
    return this.open ? this.close() : undefined;
  }

  private append(chunk: OpenChunk, text: string, dt: number, stream: LogStream, isPart: boolean, bytes: number): void {
    const index = chunk.lines.length;
    chunk.lines.push(text);
    chunk.dt.push(dt);
    if (stream === 'stderr') chunk.err.push(index);
    if (isPart) chunk.part.push(index);
    chunk.bytes += bytes;
  }

  private close(): LogChunkRecord {
    const chunk = this.open!;
    this.open = undefined;
    return {
      v: 2,
      attempt: this.options.attempt,
      chunk: ++this.sequence,
      at: chunk.at,
      lines: chunk.lines,
      dt: chunk.dt,
      ...(chunk.err.length > 0 ? { err: chunk.err } : {}),
      ...(chunk.part.length > 0 ? { part: chunk.part } : {}),
    };
  }
}

/** The longest prefix of text (at least one character, a surrogate pair kept whole) whose JSON fits in budget bytes. */
function prefixFitting(text: string, budget: number): number {
  let used = 2;
  let i = 0;
  while (i < text.length) {
    const pair = isHigh(text.charCodeAt(i)) && isLow(text.charCodeAt(i + 1));
    const width = pair ? 2 : 1;
    const bytes = pair ? 4 : codeUnitBytes(text, i);
    if (used + bytes > budget && i > 0) break;
    used += bytes;
    i += width;
  }
  return i;
}

interface AttemptState {
  next: number;
  held: Map<number, LogChunkRecord>;
  partial: Record<LogStream, { text: string; at: number }>;
}

/**
 * Reads the records of one job's log subject in stored order and gives its lines and ends as they were
 * printed: chunks unpacked in chunk order (an early one held until those before it come, a copy dropped),
 * parts rejoined per stream, old single-line records passed on as they are.
 */
export class LogJoiner {
  private readonly attempts = new Map<number, AttemptState>();

  read(record: LogRecord): LogEntry[] {
    if (record.v === 1) {
      if (!('eof' in record)) return [record];
      return [...this.finish(record.attempt), record];
    }
    const state = this.stateOf(record.attempt);
    if (record.chunk < state.next || state.held.has(record.chunk)) return [];
    state.held.set(record.chunk, record);
    const out: LogEntry[] = [];
    if (state.held.size > LOG_MAX_HELD) state.next = Math.min(...state.held.keys());
    for (let chunk = state.held.get(state.next); chunk; chunk = state.held.get(state.next)) {
      state.held.delete(state.next);
      state.next += 1;
      unpack(chunk, state, out);
    }
    return out;
  }

  /**
   * Everything still held, as if the chunks missing never come: the ones that came in order, and lines cut
   * short as they are. For a reader that stops before an attempt's end.
   */
  flush(): LogEntry[] {
    return [...this.attempts.keys()].flatMap((attempt) => this.finish(attempt));
  }

  private finish(attempt: number): LogEntry[] {
    const state = this.attempts.get(attempt);
    if (!state) return [];
    this.attempts.delete(attempt);
    const out: LogEntry[] = [];
    for (const key of [...state.held.keys()].sort((a, b) => a - b)) unpack(state.held.get(key)!, state, out);
    for (const stream of ['stdout', 'stderr'] as const) {
      const { text, at } = state.partial[stream];
      if (text !== '') out.push({ v: 1, attempt, stream, line: text, at });
    }
    return out;
  }

  private stateOf(attempt: number): AttemptState {
    let state = this.attempts.get(attempt);
    if (!state) {
      state = { next: 1, held: new Map(), partial: { stdout: { text: '', at: 0 }, stderr: { text: '', at: 0 } } };
      this.attempts.set(attempt, state);
    }
    return state;
  }
}

function unpack(chunk: LogChunkRecord, state: AttemptState, out: LogEntry[]): void {
  const err = new Set(chunk.err);
  const part = new Set(chunk.part);
  chunk.lines.forEach((text, index) => {
    const stream: LogStream = err.has(index) ? 'stderr' : 'stdout';
    const at = chunk.at + (chunk.dt[index] ?? 0);
    const partial = state.partial[stream];
    if (part.has(index)) {
      state.partial[stream] = { text: partial.text + text, at };
      return;
    }
    state.partial[stream] = { text: '', at: 0 };
    out.push({ v: 1, attempt: chunk.attempt, stream, line: partial.text + text, at });
  });
}

/**
 * Cuts one stream's text into pieces as readline does (a line ends at "\n", "\r\n" or a lone "\r"), except that
 * a line growing past maxChars goes out in parts, so holding it never takes more than that.
 */
export class LineSplitter {
  private pending = '';
  /** A part of the current line went out: the line must be closed even if nothing follows. */
  private started = false;

  constructor(private readonly maxChars: number) {}

  push(text: string): { text: string; ends: boolean }[] {
    const buffer = this.pending + text;
    const out: { text: string; ends: boolean }[] = [];
    // A "\r" at the very end may be the start of "\r\n": it waits for the next text.
    const limit = buffer.endsWith('\r') ? buffer.length - 1 : buffer.length;
    let start = 0;
    if (!buffer.includes('\r')) {
      for (let i = buffer.indexOf('\n'); i !== -1; i = buffer.indexOf('\n', start)) {
        this.cut(buffer.slice(start, i), true, out);
        start = i + 1;
      }
    } else {
      for (let i = 0; i < limit; i++) {
        const c = buffer.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        this.cut(buffer.slice(start, i), true, out);
        if (c === 13 && buffer.charCodeAt(i + 1) === 10) i += 1;
        start = i + 1;
      }
    }
    this.pending = this.cut(buffer.slice(start), false, out);
    return out;
  }

  /** Parts of at most maxChars (a surrogate pair kept whole); returns what is left when the line does not end here. */
  private cut(line: string, ends: boolean, out: { text: string; ends: boolean }[]): string {
    let rest = line;
    while (rest.length > this.maxChars) {
      const cut = this.maxChars > 1 && isHigh(rest.charCodeAt(this.maxChars - 1)) ? this.maxChars - 1 : this.maxChars;
      out.push({ text: rest.slice(0, cut), ends: false });
      this.started = true;
      rest = rest.slice(cut);
    }
    if (!ends) return rest;
    out.push({ text: rest, ends: true });
    this.started = false;
    return '';
  }

  /** The last line, if the stream did not end with a line break. */
  end(): { text: string; ends: boolean }[] {
    const closed = this.pending.endsWith('\r');
    const rest = closed ? this.pending.slice(0, -1) : this.pending;
    const out = closed || rest !== '' || this.started ? [{ text: rest, ends: true }] : [];
    this.pending = '';
    this.started = false;
    return out;
  }
}
