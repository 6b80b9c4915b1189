/**
 * The largest message each stream stores: JetStream refuses a bigger one at once ("message size exceeds maximum
 * allowed") instead of the stream growing by it. Log chunks are at most 64 KiB (log-chunks.ts), reports and
 * assignments at most NATS's default max payload, output archive chunks 1 MiB (subject files) and their headers.
 */
export const STREAM_MAX_MSG_BYTES = {
  assignments: 1024 * 1024,
  events: 1024 * 1024,
  logs: 256 * 1024,
  outputs: 2 * 1024 * 1024,
} as const;

// What nats-server answers when a stream, a bucket or the server's JetStream store has no room for a message.
const LIMIT_REFUSAL = /message size exceeds maximum|maximum (bytes|messages)( per subject)? exceeded|insufficient (storage )?resources|storage resources exceeded/i;

/** A refusal that comes from a limit, which sending the same message again cannot get past. */
export function isStoreLimitRefusal(message: string): boolean {
  return LIMIT_REFUSAL.test(message);
}
