import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accruedCost, hourlyCapDecision, loadConfig, maxCostLine, money } from '../src/index.js';

describe('max_hourly_cost: what may launch', () => {
  it('no cap: everything wanted', () => {
    expect(hourlyCapDecision(5, 1, 3, null)).toEqual({ launch: 3 });
    expect(hourlyCapDecision(5, 1, 3, undefined)).toEqual({ launch: 3 });
  });

  it('as many as keep the sum under the cap, exactly at it included; the line says how far it got', () => {
    expect(hourlyCapDecision(0, 0.1, 3, 0.3)).toEqual({ launch: 3 });
    expect(hourlyCapDecision(0, 0.1, 3, 0.25)).toEqual({
      launch: 2,
      line: "max_hourly_cost $0.25/h reached: the project's instances cost $0.20/h, another at $0.10/h would make $0.30/h; 1 not launched",
    });
    expect(hourlyCapDecision(0.3, 0.1, 2, 0.25)).toMatchObject({ launch: 0 });
    expect(hourlyCapDecision(0.3, 0.1, 2, 0.25).line).toContain('2 not launched');
  });

  it('never launches past the cap, and launches all that fit (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0.001, max: 10, noNaN: true }),
        fc.integer({ min: 0, max: 50 }),
        fc.double({ min: 0.01, max: 200, noNaN: true }),
        (running, next, wanted, cap) => {
          const { launch } = hourlyCapDecision(running, next, wanted, cap);
          expect(launch).toBeGreaterThanOrEqual(0);
          expect(launch).toBeLessThanOrEqual(wanted);
          if (launch > 0) expect(running + launch * next).toBeLessThanOrEqual(cap + 1e-6);
          if (launch < wanted) expect(running + (launch + 1) * next).toBeGreaterThan(cap - 1e-6);
        },
      ),
    );
  });
});

describe('max_cost: whether a run is stopped', () => {
  const hour = 3_600_000;
  it('billed per second with a 60 s minimum, from the launch or the run, whichever came later', () => {
    // One instance at $3.6/h up an hour since the run started: $3.60; another launched a minute before the run: counted from the run.
    expect(accruedCost([{ perHour: 3.6, launchedAt: 0 }], 0, hour)).toBeCloseTo(3.6);
    expect(accruedCost([{ perHour: 3.6, launchedAt: -60_000 }], 0, hour)).toBeCloseTo(3.6);
    // Just launched: a minute is billed already.
    expect(accruedCost([{ perHour: 3.6, launchedAt: 1000 }], 0, 1001)).toBeCloseTo(0.06);
    expect(accruedCost([], 0, hour)).toBe(0);
  });

  it('reached at the cap, with a line naming max_cost', () => {
    expect(maxCostLine(0.99, 1)).toBeUndefined();
    expect(maxCostLine(5, null)).toBeUndefined();
    expect(maxCostLine(1, 1)).toBe("max_cost $1.00 reached: the run's instances cost ~$1.00 so far; the run is stopped");
    expect(maxCostLine(0.0033, 0.001)).toBe("max_cost $0.001 reached: the run's instances cost ~$0.0033 so far; the run is stopped");
    expect(money(12.345)).toBe('12.35');
  });
});

describe('the config keys', () => {
  it('max_hourly_cost and max_cost are numbers above 0; absent is no cap', () => {
    const spec = loadConfig('max_hourly_cost: 0.5\nmax_cost: 2\njobs: [{run_command: "true"}]\n', 'k.yaml', { defaultCpus: 2 });
    expect(spec).toMatchObject({ maxHourlyCost: 0.5, maxCost: 2 });
    expect(loadConfig('jobs: [{run_command: "true"}]\n', 'k.yaml', { defaultCpus: 2 })).toMatchObject({
      maxHourlyCost: null,
      maxCost: null,
    });
    expect(() => loadConfig('max_cost: 0\njobs: [{run_command: "true"}]\n', 'k.yaml', { defaultCpus: 2 })).toThrow(/max_cost/);
  });
});
