import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The corpus of malformed NATS messages in fixtures/messages: each file is
 * `{"codec": "assignment"|"report"|"stop"|"agent"|"log", "raw": "<the message's text>", "expect": "<error substring>"}`.
 * Shared by core's decoding test and the agent's test publishing them to a live coordinator and agent.
 */
export type CorpusCodec = 'assignment' | 'report' | 'stop' | 'agent' | 'log';

export interface CorpusMessage {
  file: string;
  codec: CorpusCodec;
  bytes: Uint8Array;
  expect: string;
}

const CODECS: readonly string[] = ['assignment', 'report', 'stop', 'agent', 'log'];
export const MESSAGE_CORPUS_DIR = join(import.meta.dirname, 'fixtures', 'messages');

export function loadMessageCorpus(dir = MESSAGE_CORPUS_DIR): CorpusMessage[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const parsed = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { codec?: unknown; raw?: unknown; expect?: unknown };
      if (
        typeof parsed.codec !== 'string' ||
        !CODECS.includes(parsed.codec) ||
        typeof parsed.raw !== 'string' ||
        typeof parsed.expect !== 'string' ||
        !parsed.expect
      ) {
        throw new Error(`${file}: needs "codec" (one of ${CODECS.join(', ')}), "raw" and a non-empty "expect"`);
      }
      return { file, codec: parsed.codec as CorpusCodec, bytes: new TextEncoder().encode(parsed.raw), expect: parsed.expect };
    });
}
