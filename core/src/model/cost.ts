import type { InstanceSpec } from './run-spec.js';

/** Hourly prices of one instance type in one region, in USD; a market left out was not looked up. */
export interface TypePrices {
  onDemand?: number;
  spot?: number;
}

export type Market = 'spot' | 'on-demand';

/** Where prices come from (the AWS price lookup, or fixed ones in tests); a failure rejects with a one-line reason. */
export interface PriceLookup {
  price(type: string, market: Market): Promise<number>;
}

/** What an `instances` entry costs depends on these, with its type resolved (the provider's default when not given). */
export type PricedInstances = Pick<InstanceSpec, 'number' | 'eco' | 'maxBid' | 'ecoFallback'> & { type: string };

/** A run's cost, as `launch --json` gives it: known, or unavailable with the reason. */
export interface CostEstimate {
  currency: 'USD';
  perHour: number | null;
  soFar: number | null;
  unavailable?: string;
}

/** EC2 bills Linux instances per second, with a minimum of 60 s from the moment one runs. */
const MIN_BILLED_SECONDS = 60;

/** Seconds billed for an instance up for `elapsedMs`: whole seconds, at least one minute once it is up. */
export function billedSeconds(elapsedMs: number): number {
  if (elapsedMs <= 0) return 0;
  return Math.max(MIN_BILLED_SECONDS, Math.ceil(elapsedMs / 1000));
}

/**
 * The market an entry's instances are billed on: spot with `eco`, unless `max_bid` is under the spot price and
 * `eco_fallback` lets the provider launch on-demand instead (as it does).
 */
export function billedMarket(entry: PricedInstances, prices: TypePrices): Market {
  if (!entry.eco) return 'on-demand';
  const outbid = entry.maxBid !== null && prices.spot !== undefined && prices.spot > entry.maxBid;
  return outbid && entry.ecoFallback ? 'on-demand' : 'spot';
}

/** The markets whose prices the estimate of this entry needs. */
export function marketsNeeded(entry: PricedInstances): Market[] {
  if (!entry.eco) return ['on-demand'];
  return entry.maxBid !== null && entry.ecoFallback ? ['spot', 'on-demand'] : ['spot'];
}

/** Dollars per hour of every instance of the entries; throws naming the first price missing from `prices`. */
export function hourlyCost(entries: readonly PricedInstances[], prices: ReadonlyMap<string, TypePrices>): number {
  let total = 0;
  for (const entry of entries) {
    const typePrices = prices.get(entry.type) ?? {};
    const market = billedMarket(entry, typePrices);
    const price = market === 'spot' ? typePrices.spot : typePrices.onDemand;
    if (price === undefined) throw new Error(`no ${market} price for ${entry.type}`);
    total += price * entry.number;
  }
  return total;
}

/** Per hour and so far, every instance counted as up for `elapsedMs`; rounded to a millionth of a dollar. */
export function estimateCost(
  entries: readonly PricedInstances[],
  prices: ReadonlyMap<string, TypePrices>,
  elapsedMs: number,
): CostEstimate {
  const perHour = hourlyCost(entries, prices);
  return { currency: 'USD', perHour: roundMicro(perHour), soFar: roundMicro((perHour * billedSeconds(elapsedMs)) / 3600) };
}

export function unavailableCost(reason: string): CostEstimate {
  return { currency: 'USD', perHour: null, soFar: null, unavailable: reason };
}

function roundMicro(dollars: number): number {
  return Math.round(dollars * 1e6) / 1e6;
}
