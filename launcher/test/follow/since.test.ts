import { describe, expect, it } from 'vitest';
import { KatapultError } from '@katapult/core';
import { parseSince } from '../../src/follow/since.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');

describe('--since', () => {
  it('reads a duration back from now', () => {
    expect(parseSince('30s', NOW)).toBe(NOW - 30_000);
    expect(parseSince('10m', NOW)).toBe(NOW - 600_000);
    expect(parseSince('2h', NOW)).toBe(NOW - 7_200_000);
    expect(parseSince('1d', NOW)).toBe(NOW - 86_400_000);
    expect(parseSince('1h30m', NOW)).toBe(NOW - 5_400_000);
  });

  it('reads an ISO timestamp as that moment', () => {
    expect(parseSince('2026-11-25T08:15:00Z', NOW)).toBe(Date.parse('2026-11-25T08:15:00Z'));
    expect(parseSince('2026-11-25T08:15:00.250+01:00', NOW)).toBe(Date.parse('2026-11-25T07:15:00.250Z'));
    expect(parseSince('2099-01-01', NOW)).toBe(Date.parse('2099-01-01'));
  });

  it('refuses anything else as bad input, in one line naming the value', () => {
    for (const value of ['10', '10x', 'm10', 'yesterday', '2026-13-45', '']) {
      let error: unknown;
      try {
        parseSince(value, NOW);
      } catch (caught) {
        error = caught;
      }
      expect(error, value).toBeInstanceOf(KatapultError);
      expect((error as KatapultError).exitCode).toBe(2);
      expect((error as KatapultError).toLine()).toBe(
        `KP_USAGE --since "${value}" is neither a duration (30s, 10m, 2h, 1d) nor an ISO timestamp (2026-11-25T08:15:00Z)`,
      );
    }
  });
});
