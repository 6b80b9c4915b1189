/** A plain text table with left-aligned columns, the way `docker ps` prints them. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function formatDuration(ms: number | null): string {
  if (ms === null || ms < 0) return '-';
  // Rounded before choosing the form, so 59.96 s reads 1m0s (not 60.0s) and 59m59.6s reads 60m0s (not 59m60s).
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

export { formatBytes } from '@katapult/launcher/lines/bytes';
