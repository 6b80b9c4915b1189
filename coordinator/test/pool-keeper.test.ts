import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clusterNames, loadConfig, poolsOf, type InstanceSpec, type Pool } from '@katapult/core';
import { jobRecord } from '@katapult/core/testing';
import { startNats, type NatsServer } from '@katapult/testkit';
import { openJetStreamStore, PoolKeeper, type EnsureContext, type Provider, type RunRecord, type Store } from '../src/index.js';

/**
 * The pool keeper against a real JetStream store, with a provider that records what it is asked and can be held
 * in the middle of a stop, so that a submission arriving then is observed, not timed.
 */
const names = clusterNames('pools');
const specOf = (project: string, autoStop = 0) =>
  loadConfig(`project: ${project}\nauto_stop: ${autoStop}\ninstances: [{cpus: 1, number: 2}]\njobs: [{run_command: "true"}]\n`, 'k.yaml', {
    defaultCpus: 2,
  });

class HeldProvider implements Provider {
  readonly name = 'held';
  readonly calls: string[] = [];
  hold: Promise<void> | undefined;
  async ensure(instances: readonly InstanceSpec[], context: EnsureContext) {
    this.calls.push(`ensure ${context.project} ${instances.map((spec) => spec.number).join(',')}`);
    return [];
  }
  async stopPool(pool: Pool) {
    this.calls.push(`stop ${pool.id}`);
    await this.hold;
    this.calls.push(`stopped ${pool.id}`);
    return [`${pool.id.split('/')[0]}-agent`];
  }
  async terminateAll() {
    return [];
  }
}

function runRecord(project: string, state: RunRecord['state'], finishedAt: number | null, id = `r-${project}-${state}`): RunRecord {
  const spec = specOf(project);
  return {
    id,
    project,
    configFile: 'k.yaml',
    jobAssign: 'multi_knapsack',
    state,
    fingerprint: id,
    instances: spec.instances,
    autoStopSeconds: spec.autoStopSeconds,
    placement: { provider: 'local', profile: null, agentImage: null, maestroAddress: null },
    createdAt: 1,
    finishedAt,
  };
}

describe('pool keeper', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let store: Store;
  let provider: HeldProvider;
  let keeper: PoolKeeper;
  const poolOf = (project: string) => poolsOf(specOf(project))[0]!.id;

  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });
  beforeEach(async () => {
    nc = await connect({ servers: nats.url });
    const kvm = new Kvm(nc);
    for (const bucket of Object.values(names.buckets)) await (await kvm.open(bucket)).destroy().catch(() => undefined);
    store = await openJetStreamStore(nc, names, { agentTtlMs: 60_000 });
    provider = new HeldProvider();
    keeper = new PoolKeeper(store, provider, { checkMs: 0 });
  });
  afterEach(async () => {
    await nc.close();
  });

  /** One management pass, waited for. */
  async function manage(agentPools: string[]) {
    keeper.manageAside(await store.listRuns(), agentPools);
    await (keeper as unknown as { managing: Promise<void> | undefined }).managing;
  }

  it("stops one project's idle pool after its auto_stop while another project's pool, still needed, is kept", async () => {
    await store.putRun(runRecord('done', 'done', 1_000));
    await store.putRun(runRecord('busy', 'running', null));
    await manage([poolOf('done'), poolOf('busy')]);
    expect(provider.calls).toEqual(['ensure busy 2', `stop ${poolOf('done')}`, `stopped ${poolOf('done')}`]);
    // Its stopped agents get no new work, whatever their heartbeat records still say; the other's do.
    expect(keeper.accepts({ agentId: 'done-agent', pool: poolOf('done') })).toBe(false);
    expect(keeper.accepts({ agentId: 'busy-1', pool: poolOf('busy') })).toBe(true);
    await manage([poolOf('done'), poolOf('busy')]);
    expect(provider.calls.filter((call) => call.startsWith('stop '))).toHaveLength(1);
  });

  it('asks the provider for orphans with the pools of every stored run, ended ones included, once a minute', async () => {
    const known: string[][] = [];
    const orphanAware = Object.assign(new HeldProvider(), {
      terminateOrphans: async (pools: ReadonlySet<string>) => {
        known.push([...pools].sort());
        return [];
      },
    });
    let now = 10_000_000;
    keeper = new PoolKeeper(store, orphanAware, { checkMs: 0, now: () => now });
    await store.putRun({ ...runRecord('ended', 'done', 1_000), autoStopSeconds: null });
    await store.putRun(runRecord('busy', 'running', null));
    await manage([]);
    expect(known).toEqual([[poolOf('busy'), poolOf('ended')].sort()]);
    now += 30_000;
    await manage([]);
    expect(known).toHaveLength(1);
    now += 30_000;
    await manage([]);
    expect(known).toHaveLength(2);
  });

  it('max_cost: a running run whose instances cost that much is stopped, its reason stored and its jobs aborted with it', async () => {
    const hour = 3_600_000;
    let now = 1 + hour / 2;
    const asked: string[][] = [];
    const priced = Object.assign(new HeldProvider(), {
      // One instance at $1/h, up since the run was created.
      instanceCosts: async (pools: ReadonlySet<string>) => {
        asked.push([...pools]);
        return [{ perHour: 1, launchedAt: 1 }];
      },
    });
    keeper = new PoolKeeper(store, priced, { checkMs: 0, costCheckMs: 0, now: () => now });
    const run = { ...runRecord('budget', 'running', null), maxCost: 0.75 };
    await store.putRun(run);
    await store.createJob(jobRecord({ runId: run.id, id: 'a' }));
    await store.createJob({ ...jobRecord({ runId: run.id, id: 'b' }), state: 'done', finishedAt: 5 });
    // Half an hour: $0.50 of $0.75; nothing happens.
    await manage([]);
    expect(asked).toEqual([[poolOf('budget')]]);
    expect((await store.getRun(run.id))?.stopReason).toBeUndefined();
    expect((await store.getJob(run.id, 'a'))?.value.state).toBe('pending');
    // Three quarters of an hour: reached.
    now = 1 + (hour * 3) / 4;
    await manage([]);
    const line = "max_cost $0.75 reached: the run's instances cost ~$0.75 so far; the run is stopped";
    expect((await store.getRun(run.id))?.stopReason).toBe(line);
    expect((await store.getJob(run.id, 'a'))?.value).toMatchObject({ state: 'aborted', reason: 'cancelled', message: line });
    expect((await store.getJob(run.id, 'b'))?.value.state).toBe('done');
    // Its pool, which no other running run needs, is stopped at once, whatever its auto_stop.
    expect(priced.calls.filter((call) => call.startsWith('stop'))).toEqual([`stop ${poolOf('budget')}`, `stopped ${poolOf('budget')}`]);
    // Nor is it started again while the run is not closed yet (its record still says running).
    const ensured = priced.calls.filter((call) => call.startsWith('ensure')).length;
    await manage([]);
    await keeper.ensure([(await store.getRun(run.id))!]);
    expect(priced.calls.filter((call) => call.startsWith('ensure'))).toHaveLength(ensured);
  });

  it('max_cost: a pool another running run still needs is kept when the run over budget is stopped', async () => {
    const priced = Object.assign(new HeldProvider(), { instanceCosts: async () => [{ perHour: 1, launchedAt: 1 }] });
    keeper = new PoolKeeper(store, priced, { checkMs: 0, costCheckMs: 0, now: () => 1 + 3_600_000 });
    const run = { ...runRecord('shared', 'running', null, 'r-over'), maxCost: 0.5 };
    await store.putRun(run);
    await store.putRun(runRecord('shared', 'running', null, 'r-other'));
    await store.createJob(jobRecord({ runId: run.id, id: 'a' }));
    await manage([]);
    expect((await store.getJob(run.id, 'a'))?.value.state).toBe('aborted');
    expect(priced.calls.filter((call) => call.startsWith('stop'))).toEqual([]);
  });

  it('a pool with auto_stop: false, or whose auto_stop has not passed, is left up', async () => {
    await store.putRun({ ...runRecord('never', 'done', 1_000), autoStopSeconds: null });
    await store.putRun({ ...runRecord('later', 'done', Date.now()), autoStopSeconds: 3_600 });
    await manage([poolOf('never'), poolOf('later')]);
    expect(provider.calls).toEqual([]);
  });

  it('a submission arriving while its pool is being stopped waits for the stop, then starts the pool again', async () => {
    await store.putRun(runRecord('same', 'done', 1_000, 'r-old'));
    let release!: () => void;
    provider.hold = new Promise((resolve) => (release = resolve));
    const managing = manage([poolOf('same')]);
    while (!provider.calls.includes(`stop ${poolOf('same')}`)) await new Promise((resolve) => setImmediate(resolve));
    const stored: string[] = [];
    const fresh = runRecord('same', 'running', null, 'r-new');
    const submitting = keeper.submit(fresh, async () => {
      stored.push(provider.calls.at(-1)!);
      await store.putRun(fresh);
    });
    // The stop is still held: the new run is not stored yet, so nothing can be placed on the pool being stopped.
    await new Promise((resolve) => setImmediate(resolve));
    expect(stored).toEqual([]);
    expect(keeper.accepts({ agentId: 'x', pool: poolOf('same') })).toBe(false);
    release();
    await Promise.all([managing, submitting]);
    expect(stored).toEqual([`stopped ${poolOf('same')}`]);
    expect(provider.calls).toEqual([`stop ${poolOf('same')}`, `stopped ${poolOf('same')}`, 'ensure same 2']);
    expect(keeper.accepts({ agentId: 'new-agent', pool: poolOf('same') })).toBe(true);
  });

  it('a pool a run being submitted needs is not stopped', async () => {
    await store.putRun(runRecord('same', 'done', 1_000, 'r-old'));
    const runs = await store.listRuns(); // read before the submission, as a tick would have
    let storeNow!: () => void;
    const canStore = new Promise<void>((resolve) => (storeNow = resolve));
    const fresh = runRecord('same', 'running', null, 'r-new');
    const submitting = keeper.submit(fresh, async () => {
      await canStore;
      await store.putRun(fresh);
    });
    keeper.manageAside(runs, [poolOf('same')]);
    const managing = (keeper as unknown as { managing: Promise<void> }).managing;
    storeNow();
    await Promise.all([managing, submitting]);
    expect(provider.calls.filter((call) => call.startsWith('stop'))).toEqual([]);
    expect(provider.calls).toContain('ensure same 2');
  });
});
