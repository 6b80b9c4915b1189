import { describe, expect, it } from 'vitest';
import { loadConfig, type Market, type PriceLookup, type RunSpec } from '@katapult/core';
import { CostEstimator, costEstimatorFor, runElapsedMs } from '@katapult/launcher/launch/cost-estimator';
import { formatCost, formatUsd } from '@katapult/launcher/lines/cost-lines';
import { formatCostTotal } from '../src/render/cost.js';

function config(yaml: string): RunSpec {
  return loadConfig(`project: demo\n${yaml}\njobs:\n  - {run_command: "true"}\n`, 'demo.yaml', { defaultCpus: 2 });
}

/** Fixed prices instead of AWS, recording what was asked. */
function fixedPrices(table: Record<string, Partial<Record<Market, number>>>): PriceLookup & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    price: async (type, market) => {
      asked.push(`${market} ${type}`);
      const price = table[type]?.[market];
      if (price === undefined) throw new Error(`no ${market} price for ${type} in eu-west-3`);
      return price;
    },
  };
}

const PRICES = { 't3.micro': { 'on-demand': 0.0118, spot: 0.0036 }, 'c5.xlarge': { 'on-demand': 0.202, spot: 0.0712 } };
const AWS = config(
  'provider: aws\nregistry: ecr\nmaestro_address: 203.0.113.5\ninstances:\n  - {type: c5.xlarge, number: 3, eco: true, region: eu-west-3}\n  - {number: 2}\n  - {type: c5.xlarge}',
);

describe('dollars as launch prints them', () => {
  it('cents from ten cents up, two significant digits below', () => {
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(0.42)).toBe('$0.42');
    expect(formatUsd(1.2345)).toBe('$1.23');
    expect(formatUsd(1234.5)).toBe('$1234.50');
    expect(formatUsd(0.0118)).toBe('$0.012');
    expect(formatUsd(0.00378)).toBe('$0.0038');
    expect(formatUsd(0.00000042)).toBe('<$0.0001');
  });

  it("a progress line's part and the line under the final table", () => {
    expect(formatCost({ currency: 'USD', perHour: 1.23, soFar: 0.42 })).toBe('~$0.42 so far, $1.23/h');
    expect(formatCost({ currency: 'USD', perHour: null, soFar: null, unavailable: 'Pricing GetProducts: no AWS credentials found' })).toBe(
      'cost estimate unavailable: Pricing GetProducts: no AWS credentials found',
    );
    expect(formatCostTotal({ currency: 'USD', perHour: 1.23, soFar: 0.42 }, 1_230_000)).toBe('estimated cost: ~$0.42 (20m30s at $1.23/h)');
    expect(formatCostTotal({ currency: 'USD', perHour: null, soFar: null, unavailable: 'AWS prices not received within 20s' }, 5_000)).toBe(
      'estimated cost unavailable: AWS prices not received within 20s',
    );
  });
});

describe('the estimator launch uses', () => {
  it('looks each needed price up once (the default type for an entry without one) and estimates any elapsed time', async () => {
    const prices = fixedPrices(PRICES);
    const estimator = new CostEstimator(AWS.instances, prices);
    await Promise.all([estimator.load(), estimator.load()]);
    expect(prices.asked.sort()).toEqual(['on-demand c5.xlarge', 'on-demand t3.micro', 'spot c5.xlarge']);
    // 3 × 0.0712 spot + 2 × 0.0118 + 1 × 0.202 on-demand
    expect(estimator.estimate(30 * 60_000)).toEqual({ currency: 'USD', perHour: 0.4392, soFar: 0.2196 });
    expect(formatCost(estimator.estimate(30 * 60_000))).toBe('~$0.22 so far, $0.44/h');
    expect(formatCost(estimator.estimate(5_000))).toBe('~$0.0073 so far, $0.44/h');
  });

  it('while the prices are on their way, says so', () => {
    const estimator = new CostEstimator(AWS.instances, { price: () => new Promise<number>(() => undefined) });
    void estimator.load();
    expect(formatCost(estimator.estimate(60_000))).toBe('cost estimate unavailable: AWS prices are being looked up');
  });

  it('a failed lookup makes it unavailable with the reason, and load still resolves', async () => {
    const estimator = new CostEstimator(
      config('provider: aws\nregistry: ecr\nmaestro_address: 203.0.113.5\ninstances:\n  - {type: t9.huge}').instances,
      fixedPrices(PRICES),
    );
    await expect(estimator.load()).resolves.toBeUndefined();
    expect(estimator.estimate(60_000)).toEqual({
      currency: 'USD',
      perHour: null,
      soFar: null,
      unavailable: 'no on-demand price for t9.huge in eu-west-3',
    });
  });

  it('gives up on an AWS that does not answer', async () => {
    const estimator = new CostEstimator(AWS.instances, { price: () => new Promise<number>(() => undefined) }, { timeoutMs: 20 });
    await estimator.load();
    expect(formatCost(estimator.estimate(60_000))).toBe('cost estimate unavailable: AWS prices not received within 0.02s');
  });

  it('only for the AWS provider', () => {
    expect(costEstimatorFor(config('instances:\n  - {number: 2}'))).toBeUndefined();
    expect(costEstimatorFor(AWS)).toBeInstanceOf(CostEstimator);
  });

  it("counts from the run's creation to its end, or to now", () => {
    expect(runElapsedMs({ createdAt: 1_000, finishedAt: 61_000 }, 500_000)).toBe(60_000);
    expect(runElapsedMs({ createdAt: 1_000, finishedAt: null }, 31_000)).toBe(30_000);
    expect(runElapsedMs({ createdAt: 5_000, finishedAt: null }, 4_000)).toBe(0);
  });
});
