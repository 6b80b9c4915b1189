import type { AwsProviderFactory, EnsureContext, InstanceSpec, Pool, PricedInstance, Provider, RunPlacement } from '@katapult/core';

/**
 * One coordinator serves runs of either provider: each run's placement picks the provider that starts its
 * instances. AWS providers are made on first use, one per distinct placement and region list (an entry's `region`,
 * else the run's first entry's that names one), and kept so that `terminateAll` (auto_stop, `down`) reaches every
 * instance any of them started.
 */
export class ProviderRouter implements Provider {
  readonly name = 'router';
  private readonly aws = new Map<string, Provider>();

  constructor(
    private readonly local: Provider,
    private readonly makeAws: AwsProviderFactory,
  ) {}

  async ensure(instances: readonly InstanceSpec[], context: EnsureContext): Promise<string[]> {
    const ids: string[] = [];
    for (const [provider, specs] of this.byProvider(instances, context.placement)) {
      // Under max_hourly_cost, the project's instances in the other region lists count too.
      let elsewhere = 0;
      if (context.maxHourlyCost)
        for (const other of this.aws.values()) if (other !== provider) elsewhere += (await other.projectHourlyCost?.(context.project)) ?? 0;
      ids.push(...(await provider.ensure(specs, elsewhere > 0 ? { ...context, elsewherePerHour: elsewhere } : context)));
    }
    return ids;
  }

  async stopPool(pool: Pool, context: EnsureContext): Promise<string[]> {
    return this.pick([pool.spec], context.placement).stopPool(pool, context);
  }

  async fence(agentId: string, instances: readonly InstanceSpec[], context: EnsureContext): Promise<void> {
    for (const [provider, specs] of this.byProvider(instances, context.placement)) await provider.fence?.(agentId, specs, context);
  }

  check(placement: RunPlacement): void {
    if (placement.provider !== 'aws') this.local.check?.(placement);
  }

  async terminateAll(): Promise<string[]> {
    const stopped: string[] = [];
    for (const provider of [this.local, ...this.aws.values()]) stopped.push(...(await provider.terminateAll()));
    return stopped;
  }

  async terminateOrphans(knownPools: ReadonlySet<string>): Promise<string[]> {
    const terminated: string[] = [];
    for (const provider of this.aws.values()) terminated.push(...((await provider.terminateOrphans?.(knownPools)) ?? []));
    return terminated;
  }

  async instanceCosts(pools: ReadonlySet<string>): Promise<PricedInstance[]> {
    const priced: PricedInstance[] = [];
    for (const provider of this.aws.values()) priced.push(...((await provider.instanceCosts?.(pools)) ?? []));
    return priced;
  }

  launchNote(pool: string): string | undefined {
    for (const provider of [this.local, ...this.aws.values()]) {
      const note = provider.launchNote?.(pool);
      if (note) return note;
    }
    return undefined;
  }

  /** The entries each provider serves: all of them the local one's, or grouped by their AWS region list. */
  private byProvider(instances: readonly InstanceSpec[], placement: RunPlacement | undefined): Map<Provider, InstanceSpec[]> {
    const groups = new Map<Provider, InstanceSpec[]>();
    for (const spec of instances) {
      const provider = this.pick(instances, placement, spec);
      groups.set(provider, [...(groups.get(provider) ?? []), spec]);
    }
    return groups;
  }

  private pick(instances: readonly InstanceSpec[], placement: RunPlacement | undefined, spec?: InstanceSpec): Provider {
    if (placement?.provider !== 'aws') return this.local;
    // An entry without a region is in the run's first region list (one provider, one default region).
    const named = spec && spec.region !== null ? spec : instances.find((candidate) => candidate.region !== null);
    const region = named?.region ?? null;
    const fallbackRegions = named?.fallbackRegions ?? [];
    const key = JSON.stringify([
      placement.profile,
      region,
      ...(fallbackRegions.length > 0 ? [fallbackRegions] : []),
      placement.agentImage,
      placement.maestroAddress,
    ]);
    let provider = this.aws.get(key);
    if (!provider) {
      provider = this.makeAws(placement, region, fallbackRegions);
      this.aws.set(key, provider);
    }
    return provider;
  }
}
