import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planAssignments, type AgentCapacity, type PendingJob } from '../src/index.js';

const agents = (...cpus: number[]): AgentCapacity[] => cpus.map((c, i) => ({ id: `a${i}`, cpus: c, usedCpus: 0 }));
const jobs = (...cpus: number[]): PendingJob[] => cpus.map((c, i) => ({ key: `j${i}`, cpusReq: c }));

describe('scheduler', () => {
  it('multi_knapsack packs the largest jobs first onto as few agents as possible', () => {
    const plan = planAssignments(jobs(1, 2, 1), agents(4, 4), { policy: 'multi_knapsack' });
    expect(new Set(plan.placements.map((p) => p.agentId)).size).toBe(1);
    expect(plan.placements[0]).toEqual({ jobKey: 'j1', agentId: 'a0' });
    expect(plan.waiting).toEqual([]);
  });

  it('keeps jobs pending when no agent has room, saying why', () => {
    const plan = planAssignments(jobs(2, 2, 2), agents(2, 2), { policy: 'multi_knapsack' });
    expect(plan.placements).toHaveLength(2);
    expect(plan.waiting).toEqual([{ jobKey: 'j2', reason: 'waiting for free cpus' }]);
    expect(planAssignments(jobs(1), [], { policy: 'random' }).waiting[0]?.reason).toBe('no agent is up yet');
    expect(planAssignments(jobs(8), agents(2), { policy: 'random' }).waiting[0]?.reason).toMatch(/needs 8 cpus/);
  });

  it('counts cpus already in use', () => {
    const plan = planAssignments(jobs(2), [{ id: 'busy', cpus: 2, usedCpus: 1 }, { id: 'free', cpus: 2, usedCpus: 0 }], {
      policy: 'multi_knapsack',
    });
    expect(plan.placements).toEqual([{ jobKey: 'j0', agentId: 'free' }]);
  });

  it('random spreads according to the injected random source', () => {
    const plan = planAssignments(jobs(1, 1), agents(2, 2), { policy: 'random', random: () => 0.99 });
    expect(plan.placements.map((p) => p.agentId)).toEqual(['a1', 'a1']);
  });

  const snapshot = fc.record({
    pending: fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 60 }),
    agents: fc.array(fc.record({ cpus: fc.integer({ min: 1, max: 16 }), used: fc.integer({ min: 0, max: 16 }) }), { maxLength: 12 }),
    policy: fc.constantFrom('random' as const, 'multi_knapsack' as const),
    seed: fc.double({ min: 0, max: 0.999, noNaN: true }),
  });

  it('never oversubscribes an agent and places each job at most once (property)', () => {
    fc.assert(
      fc.property(snapshot, ({ pending, agents: raw, policy, seed }) => {
        const capacity = raw.map((a, i) => ({ id: `a${i}`, cpus: a.cpus, usedCpus: Math.min(a.used, a.cpus) }));
        const plan = planAssignments(jobs(...pending), capacity, { policy, random: () => seed });
        const used = new Map(capacity.map((a) => [a.id, a.usedCpus]));
        for (const placement of plan.placements) {
          const cpus = Number(placement.jobKey.slice(1));
          used.set(placement.agentId, (used.get(placement.agentId) ?? 0) + pending[cpus]!);
        }
        for (const agent of capacity) expect(used.get(agent.id)).toBeLessThanOrEqual(agent.cpus);
        const keys = [...plan.placements.map((p) => p.jobKey), ...plan.waiting.map((w) => w.jobKey)];
        expect(keys.sort()).toEqual(jobs(...pending).map((j) => j.key).sort());
      }),
    );
  });

  it('places every job that fits an empty cluster when there is room for all (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 30 }), (pending) => {
        const total = pending.reduce((a, b) => a + b, 0);
        const plan = planAssignments(jobs(...pending), agents(...Array(Math.ceil(total / 4) * 2 || 1).fill(4)), {
          policy: 'multi_knapsack',
        });
        expect(plan.waiting).toEqual([]);
      }),
    );
  });
});
