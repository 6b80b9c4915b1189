import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig, planAssignments, planPoolSizes, poolIdOf, poolsOf, type AgentCapacity, type SizingRun } from '../src/index.js';

const specOf = (project: string, instances: string) =>
  loadConfig(`project: ${project}\ninstances: ${instances}\njobs: [{run_command: "true"}]\n`, 'k.yaml', { defaultCpus: 2 });

describe('pools', () => {
  it('the same entry in two launches of a project is one pool; another entry, provider or project is another', () => {
    const one = poolsOf(specOf('hello', '[{cpus: 1, number: 1}]'))[0]!.id;
    expect(one).toMatch(/^hello\/[0-9a-f]{8}$/);
    // `number` is the pool's size, not its identity; the entry's position does not count either.
    expect(poolsOf(specOf('hello', '[{cpus: 2}, {cpus: 1, number: 3}]'))[1]!.id).toBe(one);
    expect(poolsOf(specOf('hello', '[{cpus: 2}]'))[0]!.id).not.toBe(one);
    expect(poolsOf(specOf('other', '[{cpus: 1, number: 1}]'))[0]!.id).not.toBe(one.replace('hello', 'other'));
    const spec = specOf('hello', '[{cpus: 1}]').instances[0]!;
    expect(poolIdOf('hello', 'aws', spec)).not.toBe(poolIdOf('hello', 'local', spec));
    for (const change of [
      { eco: true },
      { type: 'c5.large' },
      { region: 'eu-west-3' },
      { memoryBytes: 1 << 30 },
      { gpus: 1 },
      { diskSize: 30 },
      { imgId: 'ami-1' },
    ]) {
      expect(poolIdOf('hello', 'aws', { ...spec, ...change })).not.toBe(poolIdOf('hello', 'aws', spec));
    }
  });

  it('a region list is its first region and the rest in order; a single region keeps the pool id it had', () => {
    const listed = specOf('hello', '[{type: c5.large, region: [eu-west-3, eu-west-1, us-east-1]}]').instances[0]!;
    expect(listed).toMatchObject({ region: 'eu-west-3', fallbackRegions: ['eu-west-1', 'us-east-1'] });
    const single = specOf('hello', '[{type: c5.large, region: eu-west-3}]').instances[0]!;
    expect(single).toMatchObject({ region: 'eu-west-3', fallbackRegions: [] });
    const { fallbackRegions: _none, ...before } = single;
    expect(poolIdOf('hello', 'aws', single)).toBe(poolIdOf('hello', 'aws', before));
    expect(poolIdOf('hello', 'aws', listed)).not.toBe(poolIdOf('hello', 'aws', single));
    expect(poolIdOf('hello', 'aws', listed)).not.toBe(poolIdOf('hello', 'aws', { ...listed, fallbackRegions: ['us-east-1', 'eu-west-1'] }));
  });

  it('identical entries of one config are one pool of their summed number', () => {
    const pools = poolsOf(specOf('p', '[{cpus: 1, number: 2}, {cpus: 2}, {cpus: 1, number: 3}]'));
    expect(pools.map((pool) => [pool.spec.number, pool.groups])).toEqual([
      [5, [0, 2]],
      [1, [1]],
    ]);
  });
});

describe('pool sizing', () => {
  const run = (
    id: string,
    project: string,
    state: SizingRun['state'],
    finishedAt: number | null,
    instances = '[{cpus: 1, number: 2}]',
    autoStop: number | null = 60,
  ): SizingRun => ({
    id,
    project,
    provider: 'local',
    instances: specOf(project, instances).instances,
    state,
    createdAt: Number(id.replace(/\D/g, '')),
    finishedAt,
    autoStopSeconds: autoStop,
  });
  const poolOf = (project: string) => poolsOf(specOf(project, '[{cpus: 1}]'))[0]!.id;

  it('keeps the pools of running runs at the largest number asked, the latest run naming it', () => {
    const plan = planPoolSizes(
      [run('r1', 'a', 'running', null), run('r2', 'a', 'running', null, '[{cpus: 1, number: 5}]'), run('r3', 'b', 'running', null)],
      0,
      new Map(),
    );
    expect(plan.keep.map(({ pool, runId }) => [pool.id, pool.spec.number, runId])).toEqual([
      [poolOf('a'), 5, 'r2'],
      [poolOf('b'), 2, 'r3'],
    ]);
    expect(plan.stop).toEqual([]);
  });

  it('stops a pool after the auto_stop of the last run that used it, whatever other projects do, once per idle period', () => {
    const runs = [run('r1', 'a', 'done', 1_000), run('r2', 'a', 'failed', 5_000, undefined, 10), run('r3', 'b', 'running', null)];
    expect(planPoolSizes(runs, 14_999, new Map()).stop).toEqual([]);
    const plan = planPoolSizes(runs, 15_000, new Map());
    expect(plan.stop.map(({ pool, runId, idleSince }) => [pool.id, runId, idleSince])).toEqual([[poolOf('a'), 'r2', 5_000]]);
    expect(planPoolSizes(runs, 20_000, new Map([[poolOf('a'), 5_000]])).stop).toEqual([]);
    expect(planPoolSizes([...runs, run('r4', 'a', 'running', null)], 20_000, new Map()).stop).toEqual([]);
    expect(planPoolSizes([run('r1', 'a', 'done', 0, undefined, null)], 1e12, new Map()).stop).toEqual([]);
  });
});

describe('placement with pools', () => {
  const arbitrary = fc.record({
    jobs: fc.array(fc.record({ cpus: fc.integer({ min: 1, max: 4 }), pools: fc.subarray(['p/0', 'p/1', 'q/0'], { minLength: 1 }) }), {
      maxLength: 40,
    }),
    agents: fc.array(
      fc.record({
        cpus: fc.integer({ min: 1, max: 8 }),
        used: fc.integer({ min: 0, max: 8 }),
        pool: fc.constantFrom('p/0', 'p/1', 'q/0', undefined),
      }),
      { maxLength: 8 },
    ),
    policy: fc.constantFrom('random' as const, 'multi_knapsack' as const),
  });

  it("never places a job on an agent outside its run's pools, nor an agent over capacity (property)", () => {
    fc.assert(
      fc.property(arbitrary, ({ jobs, agents: raw, policy }) => {
        const agents: AgentCapacity[] = raw.map((agent, i) => ({
          id: `a${i}`,
          cpus: agent.cpus,
          usedCpus: Math.min(agent.used, agent.cpus),
          ...(agent.pool ? { pool: agent.pool } : {}),
        }));
        const pending = jobs.map((job, i) => ({ key: `j${i}`, cpusReq: job.cpus, pools: job.pools }));
        const plan = planAssignments(pending, agents, { policy, random: () => 0.5 });
        const used = new Map(agents.map((agent) => [agent.id, agent.usedCpus]));
        for (const { jobKey, agentId } of plan.placements) {
          const job = pending.find((candidate) => candidate.key === jobKey)!;
          const agent = agents.find((candidate) => candidate.id === agentId)!;
          expect(agent.pool !== undefined && job.pools.includes(agent.pool)).toBe(true);
          used.set(agentId, used.get(agentId)! + job.cpusReq);
        }
        for (const agent of agents) expect(used.get(agent.id)!).toBeLessThanOrEqual(agent.cpus);
        expect(plan.placements.length + plan.waiting.length).toBe(pending.length);
      }),
    );
  });

  it('says why a job waits in terms of its pools', () => {
    const agents: AgentCapacity[] = [
      { id: 'a', cpus: 2, usedCpus: 2, pool: 'hello/0' },
      { id: 'b', cpus: 8, usedCpus: 0, pool: 'other/0' },
    ];
    const waiting = (cpusReq: number, pools: string[]) =>
      planAssignments([{ key: 'j', cpusReq, pools }], agents, { policy: 'multi_knapsack' }).waiting[0]?.reason;
    expect(waiting(2, ['hello/0'])).toBe('needs 2 cpus; pool hello/0 has 0 free of 2');
    expect(waiting(4, ['hello/0'])).toBe('needs 4 cpus; the largest agent of pool hello/0 has 2');
    expect(waiting(1, ['new/0'])).toBe('no agent of pool new/0 is up yet');
  });
});
