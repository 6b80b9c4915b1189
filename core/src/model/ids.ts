/** Run ids sort by creation time and are safe as NATS subject tokens and KV keys: r-20261125-081502-3fa9. */
export function newRunId(now: Date, random: () => number = Math.random): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const suffix = Math.floor(random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `r-${stamp}-${suffix}`.toLowerCase();
}

export const RUN_ID_PATTERN = /^r-[a-z0-9-]+$/;
