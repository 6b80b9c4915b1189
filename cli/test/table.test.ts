import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, renderTable } from '../src/render/table.js';

describe('plain text tables', () => {
  it('left-aligned columns as wide as their widest cell, two spaces apart, no trailing blanks', () => {
    expect(
      renderTable(
        ['NAME', 'STATE', 'NOTE'],
        [
          ['a', 'running', ''],
          ['much-longer-name', 'done', 'fine'],
          ['b', '', 'x'],
        ],
      ),
    ).toMatchInlineSnapshot(`
      "NAME              STATE    NOTE
      a                 running
      much-longer-name  done     fine
      b                          x"
    `);
  });

  it('only the header when there are no rows', () => {
    expect(renderTable(['TAG', 'SIZE'], [])).toMatchInlineSnapshot(`"TAG  SIZE"`);
  });

  it('durations in tenths of a second below a minute, minutes and seconds from there, rounded first; "-" when unknown', () => {
    expect([null, -5, 0, 49, 950, 59_949, 59_950, 60_000, 125_400, 3_599_499, 3_599_500].map(formatDuration)).toMatchInlineSnapshot(`
      [
        "-",
        "-",
        "0.0s",
        "0.0s",
        "1.0s",
        "59.9s",
        "1m0s",
        "1m0s",
        "2m5s",
        "59m59s",
        "60m0s",
      ]
    `);
  });

  it('sizes in powers of 1000, one decimal past bytes, in the unit the rounded value fits', () => {
    expect([0, 999, 1000, 1_550, 300_123, 999_960, 12_345_678, 9_876_543_210, 5e12].map(formatBytes)).toMatchInlineSnapshot(`
      [
        "0B",
        "999B",
        "1.0kB",
        "1.6kB",
        "300.1kB",
        "1.0MB",
        "12.3MB",
        "9.9GB",
        "5.0TB",
      ]
    `);
  });
});
