import {
  DEFAULT_AWS_INSTANCE_TYPE,
  estimateCost,
  marketsNeeded,
  unavailableCost,
  type CostEstimate,
  type InstanceSpec,
  type Market,
  type PricedInstances,
  type PriceLookup,
  type RunSpec,
  type RunView,
  type TypePrices,
} from '@katapult/core';

const LOOKUP_TIMEOUT_MS = 20_000;

/**
 * The cost of a launch's instances: their prices looked up once, in the background, then an estimate for any
 * elapsed time, available or saying why not. Never throws: a run goes on whatever the prices do.
 */
export class CostEstimator {
  private readonly entries: PricedInstances[];
  private prices: Map<string, TypePrices> | undefined;
  private failure: string | undefined;
  private loading: Promise<void> | undefined;

  constructor(
    instances: readonly InstanceSpec[],
    private readonly lookup: PriceLookup,
    private readonly options: { timeoutMs?: number } = {},
  ) {
    this.entries = instances.map(({ type, number, eco, maxBid, ecoFallback }) => ({
      type: type ?? DEFAULT_AWS_INSTANCE_TYPE,
      number,
      eco,
      maxBid,
      ecoFallback,
    }));
  }

  /** Looks up every price the estimate needs, once; resolves when they are known or have failed. */
  load(): Promise<void> {
    this.loading ??= this.fetch();
    return this.loading;
  }

  /** What instances up for `elapsedMs` cost; unavailable while the prices are being looked up, or when they could not be. */
  estimate(elapsedMs: number): CostEstimate {
    if (this.failure !== undefined) return unavailableCost(this.failure);
    if (!this.prices) return unavailableCost('AWS prices are being looked up');
    try {
      return estimateCost(this.entries, this.prices, elapsedMs);
    } catch (error) {
      return unavailableCost((error as Error).message);
    }
  }

  private async fetch(): Promise<void> {
    const wanted = new Map<string, [string, Market]>();
    for (const entry of this.entries)
      for (const market of marketsNeeded(entry)) wanted.set(`${market} ${entry.type}`, [entry.type, market]);
    const timeoutMs = this.options.timeoutMs ?? LOOKUP_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`AWS prices not received within ${timeoutMs / 1000}s`)), timeoutMs);
      // The estimate must never keep a finished launch waiting.
      timer.unref();
    });
    try {
      const answers = await Promise.race([
        Promise.all([...wanted.values()].map(async ([type, market]) => ({ type, market, price: await this.lookup.price(type, market) }))),
        timeout,
      ]);
      const prices = new Map<string, TypePrices>();
      for (const { type, market, price } of answers)
        prices.set(type, { ...prices.get(type), [market === 'spot' ? 'spot' : 'onDemand']: price });
      this.prices = prices;
    } catch (error) {
      this.failure = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The estimator of a config's instances on AWS; none for the local provider, whose instances cost nothing extra. */
export function costEstimatorFor(spec: RunSpec): CostEstimator | undefined {
  if (spec.provider !== 'aws') return undefined;
  // The AWS provider works in one region, so the first entry that names one names it for all.
  const region = spec.instances.find((instance) => instance.region !== null)?.region ?? null;
  return new CostEstimator(spec.instances, lazyAwsPriceLookup({ region, profile: spec.profile }));
}

/** The AWS SDK's clients take half a second to load: only a launch on AWS loads them, when it looks prices up. */
function lazyAwsPriceLookup(options: { region: string | null; profile: string | null }): PriceLookup {
  let lookup: Promise<PriceLookup> | undefined;
  return {
    async price(type, market) {
      lookup ??= import('@katapult/aws').then((aws) => aws.awsPriceLookup(options));
      return (await lookup).price(type, market);
    },
  };
}

/** How long the run's instances have been up, as far as the estimate goes: from the run's creation to its end or now. */
export function runElapsedMs(run: Pick<RunView, 'createdAt' | 'finishedAt'>, now: number): number {
  return Math.max(0, (run.finishedAt ?? now) - run.createdAt);
}
