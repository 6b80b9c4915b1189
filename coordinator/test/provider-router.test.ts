import { describe, expect, it } from 'vitest';
import { loadConfig, type EnsureContext, type InstanceSpec, type Provider, type RunPlacement } from '@katapult/core';
import { ProviderRouter } from '../src/providers/provider-router.js';

class FakeProvider implements Provider {
  readonly calls: string[] = [];
  constructor(readonly name: string) {}
  async ensure(instances: readonly InstanceSpec[], context?: EnsureContext) {
    this.calls.push(`ensure ${context?.runId} ${instances.length}`);
    return [`${this.name}-1`];
  }
  async stopPool() {
    return [];
  }
  async terminateAll() {
    this.calls.push('terminateAll');
    return [`${this.name}-1`];
  }
}

const instancesOf = (yaml: string) => loadConfig(`${yaml}\njobs: [{run_command: 'true'}]\n`, 'k.yaml', { defaultCpus: 2 }).instances;
const aws = (overrides: Partial<RunPlacement> = {}): RunPlacement => ({
  provider: 'aws',
  profile: 'team',
  agentImage: '123456789012.dkr.ecr.eu-west-3.amazonaws.com/katapult/env:agent-1',
  maestroAddress: '203.0.113.5',
  ...overrides,
});

describe('provider router', () => {
  function router() {
    const local = new FakeProvider('local');
    const made: { provider: FakeProvider; placement: RunPlacement; region: string | null }[] = [];
    const routed = new ProviderRouter(local, (placement, region) => {
      const provider = new FakeProvider(`aws${made.length}`);
      made.push({ provider, placement, region });
      return provider;
    });
    return { local, made, routed };
  }

  it('asks the local provider whether it takes a local placement, never about an AWS one', () => {
    const refusing = Object.assign(new FakeProvider('local'), {
      check: () => {
        throw new Error('no local here');
      },
    });
    const routed = new ProviderRouter(refusing, () => new FakeProvider('aws'));
    expect(() => routed.check({ provider: 'local', profile: null, agentImage: null, maestroAddress: null })).toThrow('no local here');
    expect(() => routed.check(aws())).not.toThrow();
    expect(() => router().routed.check({ provider: 'local', profile: null, agentImage: null, maestroAddress: null })).not.toThrow();
  });

  it('sends runs without a placement, or placed locally, to the local provider', async () => {
    const { local, made, routed } = router();
    const instances = instancesOf('instances: [{number: 2}]');
    expect(await routed.ensure(instances, { project: 'p', runId: 'r1' })).toEqual(['local-1']);
    await routed.ensure(instances, {
      project: 'p',
      runId: 'r2',
      placement: { provider: 'local', profile: null, agentImage: null, maestroAddress: null },
    });
    expect(local.calls).toEqual(['ensure r1 1', 'ensure r2 1']);
    expect(made).toEqual([]);
  });

  it('makes one AWS provider per placement and region, reused by later runs', async () => {
    const { made, routed } = router();
    const paris = instancesOf('instances: [{type: t3.large, region: eu-west-3}]');
    await routed.ensure(paris, { project: 'p', runId: 'r1', placement: aws() });
    await routed.ensure(paris, { project: 'p', runId: 'r2', placement: aws() });
    await routed.ensure(paris, { project: 'p', runId: 'r3', placement: aws({ profile: 'other' }) });
    expect(made.map(({ placement, region }) => [placement.profile, region])).toEqual([
      ['team', 'eu-west-3'],
      ['other', 'eu-west-3'],
    ]);
    expect(made[0]!.provider.calls).toEqual(['ensure r1 1', 'ensure r2 1']);
  });

  it('entries with different region lists go to their own providers; an entry without a region goes with the first', async () => {
    const made: { provider: FakeProvider; region: string | null; fallbackRegions: readonly string[] }[] = [];
    const routed = new ProviderRouter(new FakeProvider('local'), (_placement, region, fallbackRegions) => {
      const provider = new FakeProvider(`aws${made.length}`);
      made.push({ provider, region, fallbackRegions });
      return provider;
    });
    const instances = instancesOf(
      'instances: [{type: t3.large, region: [eu-west-3, eu-west-1]}, {type: c5.large, region: eu-west-3}, {type: m5.large}]',
    );
    expect(await routed.ensure(instances, { project: 'p', runId: 'r1', placement: aws() })).toEqual(['aws0-1', 'aws1-1']);
    expect(made.map(({ region, fallbackRegions }) => [region, fallbackRegions])).toEqual([
      ['eu-west-3', ['eu-west-1']],
      ['eu-west-3', []],
    ]);
    expect(made.map(({ provider }) => provider.calls)).toEqual([['ensure r1 2'], ['ensure r1 1']]);
  });

  it("under max_hourly_cost, each provider is told what the project's instances of the other providers cost", async () => {
    const contexts: (EnsureContext | undefined)[] = [];
    const made: string[] = [];
    const routed = new ProviderRouter(new FakeProvider('local'), (_placement, region) => {
      made.push(String(region));
      return Object.assign(new FakeProvider(`aws-${region}`), {
        ensure: async (_instances: readonly InstanceSpec[], context?: EnsureContext) => {
          contexts.push(context);
          return [];
        },
        projectHourlyCost: async (project: string) => (project === 'p' ? (region === 'eu-west-3' ? 0.2 : 0.05) : 0),
      });
    });
    const instances = instancesOf('instances: [{type: t3.large, region: eu-west-3}, {type: t3.large, region: [eu-west-1, us-east-1]}]');
    await routed.ensure(instances, { project: 'p', runId: 'r1', placement: aws() });
    expect(contexts.map((context) => context?.elsewherePerHour)).toEqual([undefined, undefined]);
    contexts.length = 0;
    await routed.ensure(instances, { project: 'p', runId: 'r2', placement: aws(), maxHourlyCost: 1 });
    expect(made).toEqual(['eu-west-3', 'eu-west-1']);
    expect(contexts.map((context) => context?.elsewherePerHour)).toEqual([0.05, 0.2]);
  });

  it('terminates the instances of every provider it made', async () => {
    const { local, made, routed } = router();
    await routed.ensure(instancesOf('instances: [{type: t3.large}]'), { project: 'p', runId: 'r1', placement: aws() });
    expect(await routed.terminateAll()).toEqual(['local-1', 'aws0-1']);
    expect(local.calls).toEqual(['terminateAll']);
    expect(made[0]!.provider.calls.at(-1)).toBe('terminateAll');
  });

  it('a placement the factory refuses fails the ensure call, not the caller synchronously', async () => {
    const routed = new ProviderRouter(new FakeProvider('local'), () => {
      throw new Error('no maestro_address');
    });
    await expect(routed.ensure(instancesOf('instances: [{}]'), { project: 'p', runId: 'r', placement: aws() })).rejects.toThrow(
      'no maestro_address',
    );
  });
});
