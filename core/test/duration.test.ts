import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration } from '../src/index.js';

describe('durations (eco_life)', () => {
  it('reads seconds, units and clocks', () => {
    expect(parseDuration(3600)).toEqual({ ok: true, seconds: 3600 });
    expect(parseDuration('3600')).toEqual({ ok: true, seconds: 3600 });
    expect(parseDuration('90m')).toEqual({ ok: true, seconds: 5400 });
    expect(parseDuration('1h30m')).toEqual({ ok: true, seconds: 5400 });
    expect(parseDuration('1d 2h')).toEqual({ ok: true, seconds: 93_600 });
    expect(parseDuration('1.5h')).toEqual({ ok: true, seconds: 5400 });
    expect(parseDuration('2:30')).toEqual({ ok: true, seconds: 9000 });
    expect(parseDuration('2:30:15')).toEqual({ ok: true, seconds: 9015 });
  });

  it('refuses anything else, and zero', () => {
    for (const bad of ['soon', '2 hours', '1:75', '', '-5']) expect(parseDuration(bad).ok).toBe(false);
    expect(parseDuration(0)).toEqual({ ok: false, problem: '0 must be more than 0 seconds' });
    expect(parseDuration('0m').ok).toBe(false);
  });

  it('a bad eco_life is a config error naming the field', () => {
    const load = () =>
      loadConfig('instances:\n  - eco: true\n    eco_life: soon\njobs: [{run_command: "true"}]\n', 'k.yaml', { defaultCpus: 2 });
    expect(load).toThrow(ConfigError);
    try {
      load();
    } catch (error) {
      expect((error as ConfigError).lines()).toEqual([
        'KP_CONFIG_INVALID k.yaml:3:5 instances[0].eco_life: "soon" is not a duration: give seconds (3600) or a duration such as 90m, 2h, 1h30m, 1d or 2:30:00',
      ]);
    }
  });
});
