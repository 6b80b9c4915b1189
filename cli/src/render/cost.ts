import type { CostEstimate } from '@katapult/core/light';
import { formatUsd } from '@katapult/launcher/lines/cost-lines';
import { formatDuration } from './table.js';

/** The line under the final table: the estimated total over the run's time. */
export function formatCostTotal(cost: CostEstimate, elapsedMs: number): string {
  if (cost.perHour === null || cost.soFar === null) return `estimated cost unavailable: ${cost.unavailable ?? 'unknown'}`;
  return `estimated cost: ~${formatUsd(cost.soFar)} (${formatDuration(elapsedMs)} at ${formatUsd(cost.perHour)}/h)`;
}
