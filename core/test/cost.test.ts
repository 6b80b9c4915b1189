import { describe, expect, it } from 'vitest';
import {
  billedMarket,
  billedSeconds,
  estimateCost,
  hourlyCost,
  marketsNeeded,
  unavailableCost,
  type PricedInstances,
  type TypePrices,
} from '../src/index.js';

const entry = (patch: Partial<PricedInstances>): PricedInstances => ({
  type: 't3.micro',
  number: 1,
  eco: false,
  maxBid: null,
  ecoFallback: true,
  ...patch,
});

// us-east-1 Linux prices as AWS listed them (on-demand) and a plausible spot price.
const PRICES = new Map<string, TypePrices>([
  ['t3.micro', { onDemand: 0.0104, spot: 0.0031 }],
  ['c5.xlarge', { onDemand: 0.17, spot: 0.0688 }],
]);

describe('billed seconds (EC2 Linux: per second, 60 s minimum)', () => {
  it('nothing before the start, a minute at least, then whole seconds rounded up', () => {
    expect(billedSeconds(0)).toBe(0);
    expect(billedSeconds(-5)).toBe(0);
    expect(billedSeconds(1)).toBe(60);
    expect(billedSeconds(59_999)).toBe(60);
    expect(billedSeconds(60_001)).toBe(61);
    expect(billedSeconds(3_600_000)).toBe(3600);
  });
});

describe('the market an entry is billed on', () => {
  it('on-demand without eco, spot with it', () => {
    expect(billedMarket(entry({}), { onDemand: 1, spot: 0.3 })).toBe('on-demand');
    expect(billedMarket(entry({ eco: true }), { spot: 0.3 })).toBe('spot');
  });

  it('on-demand when max_bid is under the spot price and eco_fallback is on; spot otherwise', () => {
    expect(billedMarket(entry({ eco: true, maxBid: 0.2 }), { onDemand: 1, spot: 0.3 })).toBe('on-demand');
    expect(billedMarket(entry({ eco: true, maxBid: 0.4 }), { onDemand: 1, spot: 0.3 })).toBe('spot');
    expect(billedMarket(entry({ eco: true, maxBid: 0.2, ecoFallback: false }), { spot: 0.3 })).toBe('spot');
  });

  it('asks for the on-demand price of an eco entry only when it may fall back to it', () => {
    expect(marketsNeeded(entry({}))).toEqual(['on-demand']);
    expect(marketsNeeded(entry({ eco: true }))).toEqual(['spot']);
    expect(marketsNeeded(entry({ eco: true, maxBid: 0.1 }))).toEqual(['spot', 'on-demand']);
    expect(marketsNeeded(entry({ eco: true, maxBid: 0.1, ecoFallback: false }))).toEqual(['spot']);
  });
});

describe('the cost of a run', () => {
  const entries = [entry({ number: 2 }), entry({ type: 'c5.xlarge', number: 3, eco: true })];

  it('per hour: each entry at its market price times its number', () => {
    expect(hourlyCost(entries, PRICES)).toBeCloseTo(2 * 0.0104 + 3 * 0.0688, 12);
  });

  it('so far: every instance billed for the elapsed time, a minute at least', () => {
    expect(estimateCost(entries, PRICES, 30 * 60_000)).toEqual({ currency: 'USD', perHour: 0.2272, soFar: 0.1136 });
    expect(estimateCost(entries, PRICES, 10_000)).toEqual({ currency: 'USD', perHour: 0.2272, soFar: 0.003787 });
    expect(estimateCost(entries, PRICES, 0)).toEqual({ currency: 'USD', perHour: 0.2272, soFar: 0 });
    expect(estimateCost([entry({ type: 'c5.xlarge', number: 10 })], PRICES, 2 * 3_600_000 + 1)).toEqual({
      currency: 'USD',
      perHour: 1.7,
      soFar: 3.400472,
    });
  });

  it('a missing price is named, not counted as free', () => {
    expect(() => hourlyCost([entry({ type: 'm7i.large' })], PRICES)).toThrow('no on-demand price for m7i.large');
    expect(() => hourlyCost([entry({ eco: true, type: 'm7i.large' })], new Map([['m7i.large', { onDemand: 0.1 }]]))).toThrow(
      'no spot price for m7i.large',
    );
  });

  it('unavailable: no figures, the reason', () => {
    expect(unavailableCost('no AWS credentials found')).toEqual({
      currency: 'USD',
      perHour: null,
      soFar: null,
      unavailable: 'no AWS credentials found',
    });
  });
});
