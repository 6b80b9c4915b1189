import { LogChunker, logRecordCodec, type LogChunkRecord, type LogPiece } from '@katapult/core';

export interface LogShipperOptions {
  attempt: number;
  /** A chunk's JSON is at most this: under NATS's max payload, headers included. */
  maxBytes: number;
  /** A chunk leaves at most this long after its first entry, full or not. */
  flushMs: number;
  /** Chunks sent and not yet stored; a full window holds the job's output back. */
  window: number;
  /** Stores one chunk, retrying as long as it takes; chunks are handed over in order, several at once. */
  publish(chunk: LogChunkRecord, data: Uint8Array): Promise<void>;
}

/**
 * Ships one attempt's output: pieces are packed into chunks (core LogChunker), and chunks are published
 * without waiting for the one before to be stored, up to `window` of them counted from the oldest not yet
 * stored. Past that, write() says to hold back, and the runner stops reading the container until
 * whenWritable(): what the agent holds of a job's output is bounded, however much the job prints.
 */
export class LogShipper {
  private readonly chunker: LogChunker;
  /** Chunks sent, oldest first, down to the oldest not yet stored. */
  private readonly window: { stored: boolean }[] = [];
  private readonly pending = new Set<Promise<void>>();
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sentBytes = 0;
  private failure: unknown;
  /** The most bufferedBytes has been, and how many times a write found the window full: for tests and figures. */
  peakBufferedBytes = 0;
  heldBack = 0;

  constructor(private readonly options: LogShipperOptions) {
    this.chunker = new LogChunker({ attempt: options.attempt, maxBytes: options.maxBytes });
  }

  /** Bytes of output held: the chunk being filled and the chunks sent but not yet stored. */
  get bufferedBytes(): number {
    return this.sentBytes + this.chunker.pendingBytes;
  }

  /** False once the window is full: write no more until whenWritable() resolves. */
  write(piece: LogPiece): boolean {
    for (const chunk of this.chunker.push(piece)) this.send(chunk);
    if (this.chunker.pendingBytes > 0 && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        const chunk = this.chunker.flush();
        if (chunk) this.send(chunk);
      }, this.options.flushMs);
    }
    this.peakBufferedBytes = Math.max(this.peakBufferedBytes, this.bufferedBytes);
    if (this.window.length < this.options.window) return true;
    this.heldBack += 1;
    return false;
  }

  whenWritable(): Promise<void> {
    if (this.window.length < this.options.window) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Sends what is left and resolves once every chunk is stored; rejects if one could not be (NATS closed). */
  async end(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const last = this.chunker.flush();
    if (last) this.send(last);
    while (this.pending.size > 0) await Promise.all(this.pending);
    if (this.failure !== undefined) throw this.failure instanceof Error ? this.failure : new Error(String(this.failure));
  }

  private send(chunk: LogChunkRecord): void {
    const data = logRecordCodec.encode(chunk);
    const slot = { stored: false };
    this.window.push(slot);
    this.sentBytes += data.length;
    this.peakBufferedBytes = Math.max(this.peakBufferedBytes, this.bufferedBytes);
    const published: Promise<void> = this.options
      .publish(chunk, data)
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.pending.delete(published);
        this.sentBytes -= data.length;
        slot.stored = true;
        while (this.window[0]?.stored) this.window.shift();
        if (this.window.length < this.options.window || this.failure !== undefined) this.wake();
      });
    this.pending.add(published);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
