/** The stream's bytes in pieces of exactly `size` (the last one shorter), whatever sizes they came in. */
export async function* rechunk(data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let buffer = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const piece of data) {
    let offset = 0;
    while (offset < piece.length) {
      const taken = Math.min(size - filled, piece.length - offset);
      buffer.set(piece.subarray(offset, offset + taken), filled);
      filled += taken;
      offset += taken;
      if (filled === size) {
        yield buffer;
        // A new buffer each time: the one yielded may still be waiting in the connection's outbound queue.
        buffer = Buffer.allocUnsafe(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buffer.subarray(0, filled);
}
