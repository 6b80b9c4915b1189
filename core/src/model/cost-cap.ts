import { billedSeconds } from './cost.js';

/** An instance as the caps count it: what it costs per hour, and when it was launched (ms). */
export interface PricedInstance {
  perHour: number;
  launchedAt: number;
}

/** How many of `wanted` instances may be launched under `max_hourly_cost`, and the line saying why not all of them. */
export interface HourlyCapDecision {
  launch: number;
  /** Present when fewer than `wanted` may be launched. */
  line?: string;
}

/**
 * `max_hourly_cost`: the project's running instances cost `runningPerHour` together; each new one would add
 * `nextPerHour`. As many are launched as keep the sum at or under the cap (a billionth of a dollar of slack, so that
 * $0.1 + $0.2 fits under $0.3), and the line says how far it got.
 */
export function hourlyCapDecision(
  runningPerHour: number,
  nextPerHour: number,
  wanted: number,
  maxHourlyCost: number | null | undefined,
): HourlyCapDecision {
  if (maxHourlyCost === null || maxHourlyCost === undefined || wanted <= 0) return { launch: Math.max(0, wanted) };
  const room = maxHourlyCost - runningPerHour + 1e-9;
  const launch = nextPerHour <= 0 ? wanted : Math.max(0, Math.min(wanted, Math.floor(room / nextPerHour)));
  if (launch === wanted) return { launch };
  const after = runningPerHour + launch * nextPerHour;
  return {
    launch,
    line:
      `max_hourly_cost $${money(maxHourlyCost)}/h reached: the project's instances cost $${money(after)}/h, ` +
      `another at $${money(nextPerHour)}/h would make $${money(after + nextPerHour)}/h; ${wanted - launch} not launched`,
  };
}

/**
 * What a run's instances have cost so far: each billed (per second, 60 s minimum, as EC2 does) from its launch or
 * the run's creation, whichever came later, until `now`.
 */
export function accruedCost(instances: readonly PricedInstance[], runCreatedAt: number, now: number): number {
  let total = 0;
  for (const instance of instances) total += (instance.perHour * billedSeconds(now - Math.max(instance.launchedAt, runCreatedAt))) / 3600;
  return total;
}

/** `max_cost`: the line that stops the run once its instances cost that much, or undefined while they do not. */
export function maxCostLine(accrued: number, maxCost: number | null | undefined): string | undefined {
  if (maxCost === null || maxCost === undefined || accrued < maxCost) return undefined;
  return `max_cost $${money(maxCost)} reached: the run's instances cost ~$${money(accrued)} so far; the run is stopped`;
}

/** Dollars as a person reads them: two decimals, more only for amounts under a cent. */
export function money(dollars: number): string {
  if (dollars !== 0 && Math.abs(dollars) < 0.01) return String(Number(dollars.toPrecision(2)));
  return dollars.toFixed(2);
}
