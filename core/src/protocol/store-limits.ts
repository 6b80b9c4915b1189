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
 * share no longer fits after a restart on a fuller disk: the store's size is fixed in nats.conf when the stack is set up
 * (jetStreamStoreBytes), and the budget is a share of it unless the operator gives one.
 */
export const STREAM_BUDGET_SHARES = { files: 0.4, outputs: 0.3, logs: 0.2, events: 0.05, assignments: 0.05 } as const;
export type BudgetedStream = keyof typeof STREAM_BUDGET_SHARES;

/** No stream gets less than this, whatever the budget: a job's log and a report always fit. */
export const STREAM_MIN_MAX_BYTES = 1024 * 1024;

export function streamMaxBytes(budgetBytes: number): Record<BudgetedStream, number> {
  const share = (stream: BudgetedStream) => Math.max(STREAM_MIN_MAX_BYTES, Math.floor(budgetBytes * STREAM_BUDGET_SHARES[stream]));
  return {
    files: share('files'),
    outputs: share('outputs'),
    logs: share('logs'),
    events: share('events'),
    assignments: share('assignments'),
  };
}

/**
 * The share of the disk's free space a stack's JetStream may use, decided when its NATS is first set up and then
 * kept in nats.conf (`max_file_store`): nats-server's own default is the same share, but recomputed at each start,
 * so after a restart on a fuller disk the streams' budgets no longer fit in it and a stream is not loaded (tested).
 */
export const JETSTREAM_DISK_SHARE = 0.75;
/** What of the JetStream store the budgeted streams share by default; the rest is for the KV buckets (runs, jobs, agents). */
export const STREAM_BUDGET_OF_STORE = 0.8;
/** No stack's JetStream store is set smaller than this, whatever the disk: the streams' least budgets and the buckets fit in it. */
export const MIN_JETSTREAM_STORE_BYTES = 64 * 1024 * 1024;

/**
 * The `max_file_store` of a stack's nats-server: the one already kept, else its share of the free space now; never
 * less than what the operator's budget (KATAPULT_STREAM_MAX_BYTES) needs.
 */
export function jetStreamStoreBytes(kept: number | undefined, freeBytes: number, budgetBytes?: number): number {
  const chosen = kept ?? Math.max(MIN_JETSTREAM_STORE_BYTES, Math.floor(freeBytes * JETSTREAM_DISK_SHARE));
  return budgetBytes === undefined ? chosen : Math.max(chosen, Math.ceil(budgetBytes / STREAM_BUDGET_OF_STORE));
}

/** The streams' budget when the operator gives none: their share of the store kept in nats.conf. */
export function defaultStreamBudget(maxFileStoreBytes: number): number {
  return Math.max(5 * STREAM_MIN_MAX_BYTES, Math.floor(maxFileStoreBytes * STREAM_BUDGET_OF_STORE));
}

/** KATAPULT_STREAM_MAX_BYTES: a whole number of bytes; undefined when unset, an error naming it when not a number. */
export function parseStreamBudget(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const bytes = Number(raw);
  if (!Number.isSafeInteger(bytes) || bytes < 5 * STREAM_MIN_MAX_BYTES)
    throw new Error(`KATAPULT_STREAM_MAX_BYTES must be a number of bytes of at least ${5 * STREAM_MIN_MAX_BYTES}, got "${raw}"`);
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
const LIMIT_REFUSAL =
  /message size exceeds maximum|maximum (bytes|messages)( per subject)? exceeded|insufficient (storage )?resources|storage resources exceeded/i;

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

/**
 * The JetStream store size kept beside a stack's data (`nats/max-file-store`, local and maestro alike): its text's
 * bytes, undefined when the file is missing (`text` undefined) or holds no positive whole number.
 */
export function parseKeptStoreSize(text: string | undefined): number | undefined {
  const bytes = text === undefined ? NaN : Number(text.trim());
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

export function formatKeptStoreSize(bytes: number): string {
  return `${bytes}\n`;
}

/**
 * A stack's store size as its NATS starts (local stack and maestro alike), from what `nats/max-file-store` holds and
 * the disk's free bytes: the bytes, and the text to keep there when they are not what it held.
 */
export function storeSizeAtStart(keptText: string | undefined, freeBytes: number, budgetBytes?: number): { bytes: number; keep?: string } {
  const kept = parseKeptStoreSize(keptText);
  const bytes = jetStreamStoreBytes(kept, freeBytes, budgetBytes);
  return bytes === kept ? { bytes } : { bytes, keep: formatKeptStoreSize(bytes) };
}
