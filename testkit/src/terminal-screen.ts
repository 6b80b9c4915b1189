/**
 * What a terminal shows after some output: the rows left on screen once carriage returns, line clears and
 * cursor-up moves have redrawn lines in place. Enough of a terminal for what Katapult writes (\r, \n,
 * ESC[2K, ESC[nA, ESC[nF, colours), so a test can count the lines a person sees.
 */
export function terminalScreen(output: string): string[] {
  const rows: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (char: string) => {
    const line = rows[row] ?? '';
    rows[row] = line.padEnd(col, ' ').slice(0, col) + char + line.slice(col + 1);
    col += 1;
  };
  for (let i = 0; i < output.length; i += 1) {
    const char = output[i]!;
    if (char === '\x1b') {
      const sequence = /^\x1b\[(\d*)([A-Za-z])/.exec(output.slice(i));
      if (!sequence) continue;
      i += sequence[0].length - 1;
      const count = Number(sequence[1] || '1');
      if (sequence[2] === 'K') rows[row] = '';
      else if (sequence[2] === 'A') row = Math.max(0, row - count);
      else if (sequence[2] === 'F') {
        row = Math.max(0, row - count);
        col = 0;
      }
      continue;
    }
    if (char === '\r') col = 0;
    else if (char === '\n') {
      row += 1;
      col = 0;
      rows[row] ??= '';
    } else put(char);
  }
  while (rows.length > 0 && rows[rows.length - 1] === '') rows.pop();
  return rows;
}
