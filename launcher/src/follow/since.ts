import { ExitCode, KatapultError } from '@katapult/core/light';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(?:\d+[smhd])+$/;
const DURATION_PART = /(\d+)([smhd])/g;
// A date, optionally with a time: what Date.parse reads the same way everywhere.
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * The moment `--since` names, in epoch milliseconds: a duration back from `now` (`30s`, `10m`, `2h`, `1d`,
 * or several, `1h30m`) or an ISO timestamp (`2026-11-25T08:15:00Z`; without a zone it is local time).
 */
export function parseSince(value: string, now: number): number {
  const text = value.trim();
  if (DURATION.test(text)) {
    let ms = 0;
    for (const [, amount, unit] of text.matchAll(DURATION_PART)) ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
    return now - ms;
  }
  if (ISO_TIMESTAMP.test(text)) {
    const at = Date.parse(text);
    if (!Number.isNaN(at)) return at;
  }
  throw new KatapultError(
    'KP_USAGE',
    `--since "${value}" is neither a duration (30s, 10m, 2h, 1d) nor an ISO timestamp (2026-11-25T08:15:00Z)`,
    {
      exitCode: ExitCode.badInput,
    },
  );
}
