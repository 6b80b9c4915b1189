import { createHash } from 'node:crypto';

/** First 12 hex digits of sha256 over the parts in order: a tag that changes when any input changes. */
export function contentTag(parts: ReadonlyArray<string | Uint8Array>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex').slice(0, 12);
}
