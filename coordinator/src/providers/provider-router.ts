import type { InstanceSpec, Pool } from '@katapult/core';
import type { EnsureContext, Provider, RunPlacement } from './provider.js';

/** Makes the AWS provider for one placement (its profile, region, agent image and NATS address). */
export type AwsProviderFactory = (placement: RunPlacement, region: string | null) => Provider;

/**
 * One coordinator serves runs of either provider: each run's placement picks the provider that starts its
 * instances. AWS providers are made on first use, one per distinct placement, and kept so that `terminateAll`
 * (auto_stop, `down`) reaches every instance any of them started.
 */
export class ProviderRouter implements Provider {
  readonly name = 'router';
  private readonly aws = new Map<string, Provider>();

  constructor(
    private readonly local: Provider,
    private readonly makeAws: AwsProviderFactory,
  ) {}

  async ensure(instances: readonly InstanceSpec[], context: EnsureContext): Promise<string[]> {
    return this.pick(instances, context.placement).ensure(instances, context);
  }

  async stopPool(pool: Pool, context: EnsureContext): Promise<string[]> {
    return this.pick([pool.spec], context.placement).stopPool(pool, context);
  }

  async fence(agentId: string, instances: readonly InstanceSpec[], context: EnsureContext): Promise<void> {
    await this.pick(instances, context.placement).fence?.(agentId, instances, context);
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

  launchNote(pool: string): string | undefined {
    for (const provider of [this.local, ...this.aws.values()]) {
      const note = provider.launchNote?.(pool);
      if (note) return note;
    }
    return undefined;
  }

  private pick(instances: readonly InstanceSpec[], placement: RunPlacement | undefined): Provider {
    if (placement?.provider !== 'aws') return this.local;
    const region = instances.find((spec) => spec.region !== null)?.region ?? null;
    const key = JSON.stringify([placement.profile, region, placement.agentImage, placement.maestroAddress]);
    let provider = this.aws.get(key);
    if (!provider) {
      provider = this.makeAws(placement, region);
      this.aws.set(key, provider);
    }
    return provider;
  }
}
