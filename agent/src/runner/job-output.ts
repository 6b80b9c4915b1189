import { Writable } from 'node:stream';
import { LineSplitter, type LogPiece, type LogStream } from '@katapult/core';

/** Where a job's output goes: pieces of lines, and a way to say "not so fast". */
export interface LogOutput {
  /** False: hold the next piece back until whenLogWritable() resolves. */
  logPiece(piece: LogPiece): boolean;
  whenLogWritable(): Promise<void>;
}

/** A line is held whole up to this many characters; past it, it goes on in parts. */
export const MAX_HELD_LINE_CHARS = 64 * 1024;

/**
 * Reads a container's attach stream (Docker's multiplexed stdout and stderr: an 8-byte header, then that many
 * bytes) into pieces of lines. A frame is decoded as it comes, never held whole, and the stream is not read
 * further while the output is held back: the container then blocks on its writes, and the agent holds no more.
 * Never rejects: a stream cut short (the container removed, Docker gone) ends the output where it was cut.
 */
export function forwardOutput(attach: NodeJS.ReadableStream, output: LogOutput, maxLineChars = MAX_HELD_LINE_CHARS): Promise<void> {
  const writer = new DemuxWriter(output, maxLineChars);
  return new Promise((resolve) => {
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      attach.unpipe(writer);
      writer.end();
    };
    writer.on('finish', resolve);
    writer.on('error', () => resolve());
    attach.on('end', end);
    attach.on('error', end);
    attach.on('close', end);
    attach.pipe(writer, { end: false });
  });
}

class DemuxWriter extends Writable {
  private readonly header = Buffer.alloc(8);
  private headerBytes = 0;
  /** Bytes of the current frame's payload still to come, and whose they are. */
  private remaining = 0;
  private stream: LogStream | undefined = 'stdout';
  private readonly decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  private readonly splitters: Record<LogStream, LineSplitter>;
  private held = false;

  constructor(
    private readonly output: LogOutput,
    maxLineChars: number,
  ) {
    super({ highWaterMark: 64 * 1024 });
    this.splitters = { stdout: new LineSplitter(maxLineChars), stderr: new LineSplitter(maxLineChars) };
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining === 0) {
        const taken = Math.min(8 - this.headerBytes, chunk.length - offset);
        chunk.copy(this.header, this.headerBytes, offset, offset + taken);
        this.headerBytes += taken;
        offset += taken;
        if (this.headerBytes < 8) break;
        this.headerBytes = 0;
        // 1 stdout, 2 stderr; 0 (stdin) never comes from a container's output, and is dropped if it does.
        const type = this.header[0];
        this.stream = type === 1 ? 'stdout' : type === 2 ? 'stderr' : undefined;
        this.remaining = this.header.readUInt32BE(4);
        continue;
      }
      const end = Math.min(chunk.length, offset + this.remaining);
      if (this.stream) this.text(this.stream, this.decoders[this.stream].decode(chunk.subarray(offset, end), { stream: true }));
      this.remaining -= end - offset;
      offset = end;
    }
    this.release(callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      this.text(stream, this.decoders[stream].decode());
      this.pieces(stream, this.splitters[stream].end());
    }
    this.release(callback);
  }

  private text(stream: LogStream, text: string): void {
    if (text !== '') this.pieces(stream, this.splitters[stream].push(text));
  }

  private pieces(stream: LogStream, pieces: { text: string; ends: boolean }[]): void {
    const at = Date.now();
    for (const piece of pieces) if (!this.output.logPiece({ stream, at, ...piece })) this.held = true;
  }

  /** Takes the next bytes once the output has room again. */
  private release(callback: (error?: Error | null) => void): void {
    if (!this.held) return callback();
    this.held = false;
    this.output.whenLogWritable().then(() => callback(), callback);
  }
}
