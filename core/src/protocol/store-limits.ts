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

/**
 * How the bytes JetStream may hold for a cluster (its budget) are shared: a stream or the file store that reaches
 * its share refuses new messages ("maximum bytes exceeded") rather than filling the disk, which nats-server 2.9
 * does not survive (it wedges). The events stream keeps its newest reports instead: the coordinator has read the
 * old ones. nats-server reserves each stream's max_bytes out of its store's capacity (75 % of the disk free when
 * it started, unless configured), so the shares must fit in it together, and it does not load a stream whose
 * share no longer fits after a restart on a fuller disk: a budget is given by the operator (coordinator/src/streams.ts).
 */
export const STREAM_BUDGET_SHARES = { files: 0.4, outputs: 0.3, logs: 0.2, events: 0.05, assignments: 0.05 } as const;
export type BudgetedStream = keyof typeof STREAM_BUDGET_SHARES;

/** No stream gets less than this, whatever the budget: a job's log and a report always fit. */
export const STREAM_MIN_MAX_BYTES = 1024 * 1024;

export function streamMaxBytes(budgetBytes: number): Record<BudgetedStream, number> {
  const share = (stream: BudgetedStream) => Math.max(STREAM_MIN_MAX_BYTES, Math.floor(budgetBytes * STREAM_BUDGET_SHARES[stream]));
  return { files: share('files'), outputs: share('outputs'), logs: share('logs'), events: share('events'), assignments: share('assignments') };
}

/** KATAPULT_STREAM_MAX_BYTES: a whole number of bytes; undefined when unset, an error naming it when not a number. */
export function parseStreamBudget(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const bytes = Number(raw);
  if (!Number.isSafeInteger(bytes) || bytes < 5 * STREAM_MIN_MAX_BYTES) throw new Error(`KATAPULT_STREAM_MAX_BYTES must be a number of bytes of at least ${5 * STREAM_MIN_MAX_BYTES}, got "${raw}"`);
  return bytes;
}

/**
 * One line for a refusal by a stream's limit, naming the stream (nats-server's message does not); undefined for
 * any other error.
 */
export function storeLimitMessage(stream: string, error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  if (!isStoreLimitRefusal(message)) return undefined;
  return `the JetStream stream ${stream} refused a message: ${message} (a limit of that stream: its largest message, or its share of the stack's JetStream budget, KATAPULT_STREAM_MAX_BYTES)`;
}

// What nats-server answers when a stream, a bucket or the server's JetStream store has no room for a message.
const LIMIT_REFUSAL = /message size exceeds maximum|maximum (bytes|messages)( per subject)? exceeded|insufficient (storage )?resources|storage resources exceeded/i;

/** A refusal that comes from a limit, which sending the same message again cannot get past. */
export function isStoreLimitRefusal(message: string): boolean {
  return LIMIT_REFUSAL.test(message);
}

// What nats-server answers when its disk (not a stream's own limit) has no room: room can come back.
const DISK_FULL_REFUSAL = /insufficient (storage )?resources|storage resources exceeded/i;

/**
 * A refusal because the server's disk is full, not because of the stream's own limits: the same message goes
 * through once space is freed, so what must not be lost (a job's outcome, its log) is sent again until then.
 */
export function isDiskFullRefusal(message: string): boolean {
  return DISK_FULL_REFUSAL.test(message);
}
