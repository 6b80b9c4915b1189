/**
 * Durations in the config (`instances[].eco_life`): seconds as a number or a numeric string, a duration with
 * units (`90m`, `2h`, `1h30m`, `1d`, `45s`), or a clock (`2:30` for H:MM, `2:30:00` for H:MM:SS).
 */
export type DurationParse = { ok: true; seconds: number } | { ok: false; problem: string };

const UNIT_SECONDS: Record<string, number> = { d: 86_400, h: 3_600, m: 60, s: 1 };

export function parseDuration(value: string | number): DurationParse {
  const problem = `"${value}" is not a duration: give seconds (3600) or a duration such as 90m, 2h, 1h30m, 1d or 2:30:00`;
  if (typeof value === 'number') {
    return Number.isFinite(value) && value > 0
      ? { ok: true, seconds: Math.ceil(value) }
      : { ok: false, problem: `${value} must be more than 0 seconds` };
  }
  const text = value.trim().toLowerCase();
  let seconds: number | undefined;
  if (/^\d+(\.\d+)?$/.test(text)) {
    seconds = Number(text);
  } else if (/^(\d+(\.\d+)?\s*[dhms]\s*)+$/.test(text)) {
    seconds = 0;
    for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)\s*([dhms])/g)) seconds += Number(amount) * UNIT_SECONDS[unit!]!;
  } else {
    const clock = /^(\d+):([0-5]\d)(?::([0-5]\d))?$/.exec(text);
    if (clock) seconds = Number(clock[1]) * 3_600 + Number(clock[2]) * 60 + Number(clock[3] ?? 0);
  }
  if (seconds === undefined) return { ok: false, problem };
  if (seconds <= 0) return { ok: false, problem: `"${value}" must be more than 0 seconds` };
  return { ok: true, seconds: Math.ceil(seconds) };
}
