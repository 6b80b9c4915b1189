import type { CostEstimate } from '@katapult/core/light';

/** Dollars with cents, and two significant digits below ten cents, where cheap instances' rates are. */
export function formatUsd(dollars: number): string {
  if (dollars === 0) return '$0.00';
  if (dollars < 0.0001) return '<$0.0001';
  return dollars >= 0.1 ? `$${dollars.toFixed(2)}` : `$${dollars.toPrecision(2)}`;
}

/** The estimate in a progress line: `~$0.42 so far, $1.23/h`, or why there is none. */
export function formatCost(cost: CostEstimate): string {
  if (cost.perHour === null || cost.soFar === null) return `cost estimate unavailable: ${cost.unavailable ?? 'unknown'}`;
  return `~${formatUsd(cost.soFar)} so far, ${formatUsd(cost.perHour)}/h`;
}
