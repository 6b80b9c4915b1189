/**
 * Memory sizes as a config gives them: a number and a unit, Docker's way (`512m`, `2g`; binary units, so `1g`
 * is 1024 MiB; `b`/`ib` after the unit is allowed, `2GiB`), or a bare number of bytes.
 */
export type MemoryParse = { ok: true; bytes: number } | { ok: false; problem: string };

/** Docker refuses a container memory limit below 6 MiB. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const SIZE = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|b)?\s*$/i;

export function parseMemory(value: string | number): MemoryParse {
  const text = String(value);
  const shown = typeof value === 'number' ? `${text} (bytes)` : JSON.stringify(text);
  const match = SIZE.exec(text);
  if (!match) return { ok: false, problem: `${shown} is not a size; write a number and a unit, like 512m or 2g` };
  const bytes = Math.floor(Number(match[1]) * UNITS[(match[2] ?? '').toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) return { ok: false, problem: `${shown} is too large` };
  if (bytes < MIN_MEMORY_BYTES) return { ok: false, problem: `${shown} is less than the minimum, 6m` };
  return { ok: true, bytes };
}

/** `2147483648` -> `2g`: the largest binary unit that divides the size, for messages. */
export function formatMemory(bytes: number): string {
  for (const unit of ['t', 'g', 'm', 'k'] as const) {
    if (bytes % UNITS[unit]! === 0) return `${bytes / UNITS[unit]!}${unit}`;
  }
  return `${bytes}b`;
}

/**
 * The memory limit of a job's container: its own `memory` if it gave one; otherwise its share of its
 * instance's memory, in proportion to the cpus it takes; null (no limit) when neither is known.
 */
export function jobMemoryLimit(
  jobBytes: number | null,
  instance: { memoryBytes: number | null; cpus: number },
  jobCpus: number,
): number | null {
  if (jobBytes !== null) return jobBytes;
  if (instance.memoryBytes === null) return null;
  const share = Math.floor((instance.memoryBytes * Math.min(jobCpus, instance.cpus)) / Math.max(1, instance.cpus));
  return Math.max(MIN_MEMORY_BYTES, share);
}
