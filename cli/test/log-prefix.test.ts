import { describe, expect, it } from 'vitest';
import { logLinePrefixer, shouldColour } from '../src/render/log-prefix.js';

describe('merged log lines', () => {
  const jobs = ['greet', 'count-1', 'broken'];

  it('prefix each line with its job, padded to the longest job name, with no escape codes when plain', () => {
    const prefix = logLinePrefixer(jobs, false);
    expect(prefix('greet', 'hello')).toBe('greet   | hello');
    expect(prefix('count-1', 'tick 1')).toBe('count-1 | tick 1');
    expect(prefix('broken', '')).toBe('broken  | ');
  });

  it('colour the prefix of each job differently, and leave the line itself alone', () => {
    const prefix = logLinePrefixer(jobs, true);
    expect(prefix('greet', 'hello')).toBe('\x1b[36mgreet   |\x1b[0m hello');
    expect(prefix('count-1', 'tick 1')).toBe('\x1b[33mcount-1 |\x1b[0m tick 1');
    expect(prefix('broken', 'oops')).toBe('\x1b[32mbroken  |\x1b[0m oops');
  });

  it('a merged log reads as columns, plain or coloured (escapes shown as \\u001b)', () => {
    const printed: [string, string][] = [
      ['greet', 'hello from local-0'],
      ['count-1', 'tick 1'],
      ['broken', 'about to fail'],
      ['count-1', 'tick 2'],
      ['greet', ''],
    ];
    const block = (colour: boolean) => printed.map(([job, line]) => logLinePrefixer(jobs, colour)(job, line)).join('\n');
    expect(block(false)).toMatchInlineSnapshot(`
      "greet   | hello from local-0
      count-1 | tick 1
      broken  | about to fail
      count-1 | tick 2
      greet   | "
    `);
    expect(JSON.stringify(block(true).split('\n'), null, 2)).toMatchInlineSnapshot(`
      "[
        "\\u001b[36mgreet   |\\u001b[0m hello from local-0",
        "\\u001b[33mcount-1 |\\u001b[0m tick 1",
        "\\u001b[32mbroken  |\\u001b[0m about to fail",
        "\\u001b[33mcount-1 |\\u001b[0m tick 2",
        "\\u001b[36mgreet   |\\u001b[0m "
      ]"
    `);
  });

  it('colour only for a terminal, and not when NO_COLOR is set', () => {
    expect(shouldColour({ isTTY: true }, {})).toBe(true);
    expect(shouldColour({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(shouldColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(shouldColour({ isTTY: false }, {})).toBe(false);
    expect(shouldColour({}, {})).toBe(false);
  });
});
