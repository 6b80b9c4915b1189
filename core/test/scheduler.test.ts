import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planAssignments, type AgentCapacity, type PendingJob } from '../src/index.js';

const agents = (...cpus: number[]): AgentCapacity[] => cpus.map((c, i) => ({ id: `a${i}`, cpus: c, usedCpus: 0 }));
const jobs = (...cpus: number[]): PendingJob[] => cpus.map((c, i) => ({ key: `j${i}`, cpusReq: c }));
const withGpus = (needs: { cpus: number; gpus: number }[]): PendingJob[] =>
  needs.map((n, i) => ({ key: `j${i}`, cpusReq: n.cpus, gpusReq: n.gpus }));
const gpuAgent = (id: string, cpus: number, gpus: number, usedGpus = 0): AgentCapacity => ({ id, cpus, usedCpus: 0, gpus, usedGpus });

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
    const plan = planAssignments(
      jobs(2),
      [
        { id: 'busy', cpus: 2, usedCpus: 1 },
        { id: 'free', cpus: 2, usedCpus: 0 },
      ],
      {
        policy: 'multi_knapsack',
      },
    );
    expect(plan.placements).toEqual([{ jobKey: 'j0', agentId: 'free' }]);
  });

  it('places a GPU job only on an agent with that many free GPUs', () => {
    const cluster = [gpuAgent('none', 8, 0), gpuAgent('one', 8, 1), gpuAgent('two', 8, 2, 1)];
    const plan = planAssignments(
      withGpus([
        { cpus: 1, gpus: 1 },
        { cpus: 1, gpus: 1 },
        { cpus: 1, gpus: 1 },
      ]),
      cluster,
      { policy: 'multi_knapsack' },
    );
    expect(plan.placements.map((p) => p.agentId).sort()).toEqual(['one', 'two']);
    expect(plan.waiting).toEqual([{ jobKey: 'j2', reason: 'waiting for free gpus' }]);
    for (const policy of ['random', 'multi_knapsack'] as const) {
      expect(planAssignments(withGpus([{ cpus: 1, gpus: 2 }]), cluster, { policy, random: () => 0 }).waiting).toEqual([
        { jobKey: 'j0', reason: 'waiting for free gpus' },
      ]);
    }
  });

  it('says why a GPU job waits', () => {
    const why = (cpus: number, gpus: number, cluster: AgentCapacity[]) =>
      planAssignments(withGpus([{ cpus, gpus }]), cluster, { policy: 'multi_knapsack' }).waiting[0]?.reason;
    expect(why(1, 4, [gpuAgent('a', 8, 2)])).toBe('needs 4 gpus; the agent with the most has 2');
    expect(why(1, 1, agents(8))).toBe('needs 1 gpus; the agent with the most has 0');
    expect(why(8, 1, [gpuAgent('small', 2, 1), gpuAgent('big', 8, 0)])).toBe('needs 8 cpus and 1 gpus on one agent; none has both');
    expect(why(2, 1, [{ ...gpuAgent('a', 2, 1), usedCpus: 1 }])).toBe('waiting for free cpus');
  });

  it('keeps GPU agents for GPU jobs: a job that needs none goes to a GPU-less agent first, and GPU jobs are placed first', () => {
    const cluster = [gpuAgent('gpu', 4, 1), gpuAgent('cpu', 4, 0)];
    const plan = planAssignments(
      [
        { key: 'plain', cpusReq: 2 },
        { key: 'cuda', cpusReq: 4, gpusReq: 1 },
      ],
      cluster,
      { policy: 'multi_knapsack' },
    );
    expect(plan.placements).toEqual([
      { jobKey: 'cuda', agentId: 'gpu' },
      { jobKey: 'plain', agentId: 'cpu' },
    ]);
    // Even with the GPU agent's GPUs all taken, and it busy, the cpus beside them are left to GPU jobs.
    const later = planAssignments([{ key: 'plain', cpusReq: 1 }], [{ ...gpuAgent('gpu', 4, 1, 1), usedCpus: 1 }, gpuAgent('cpu', 4, 0)], {
      policy: 'multi_knapsack',
    });
    expect(later.placements).toEqual([{ jobKey: 'plain', agentId: 'cpu' }]);
  });

  it('random spreads according to the injected random source', () => {
    const plan = planAssignments(jobs(1, 1), agents(2, 2), { policy: 'random', random: () => 0.99 });
    expect(plan.placements.map((p) => p.agentId)).toEqual(['a1', 'a1']);
  });

  const snapshot = fc.record({
    pending: fc.array(fc.record({ cpus: fc.integer({ min: 1, max: 8 }), gpus: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4 })) }), {
      maxLength: 60,
    }),
    agents: fc.array(
      fc.record({
        cpus: fc.integer({ min: 1, max: 16 }),
        used: fc.integer({ min: 0, max: 16 }),
        gpus: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 8 })),
        usedGpus: fc.integer({ min: 0, max: 8 }),
      }),
      { maxLength: 12 },
    ),
    policy: fc.constantFrom('random' as const, 'multi_knapsack' as const),
    seed: fc.double({ min: 0, max: 0.999, noNaN: true }),
  });

  it('never oversubscribes an agent, in cpus or GPUs, and places each job at most once (property)', () => {
    fc.assert(
      fc.property(snapshot, ({ pending, agents: raw, policy, seed }) => {
        const capacity = raw.map((a, i) => ({
          id: `a${i}`,
          cpus: a.cpus,
          usedCpus: Math.min(a.used, a.cpus),
          gpus: a.gpus,
          usedGpus: Math.min(a.usedGpus, a.gpus),
        }));
        const plan = planAssignments(withGpus(pending), capacity, { policy, random: () => seed });
        const used = new Map(capacity.map((a) => [a.id, { cpus: a.usedCpus, gpus: a.usedGpus }]));
        for (const placement of plan.placements) {
          const job = pending[Number(placement.jobKey.slice(1))]!;
          const agent = used.get(placement.agentId)!;
          used.set(placement.agentId, { cpus: agent.cpus + job.cpus, gpus: agent.gpus + job.gpus });
        }
        for (const agent of capacity) {
          expect(used.get(agent.id)!.cpus).toBeLessThanOrEqual(agent.cpus);
          expect(used.get(agent.id)!.gpus).toBeLessThanOrEqual(agent.gpus);
        }
        const keys = [...plan.placements.map((p) => p.jobKey), ...plan.waiting.map((w) => w.jobKey)];
        expect(keys.sort()).toEqual(pending.map((_, i) => `j${i}`).sort());
        // Greedy but not lazy: a job left waiting fits on no agent even with what the plan leaves free.
        for (const { jobKey } of plan.waiting) {
          const job = pending[Number(jobKey.slice(1))]!;
          const fits = capacity.some((a) => a.cpus - used.get(a.id)!.cpus >= job.cpus && a.gpus - used.get(a.id)!.gpus >= job.gpus);
          expect(fits).toBe(false);
        }
      }),
    );
  });

  it('a job that needs no GPU never makes a GPU job wait when a GPU-less agent could have run it (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 8 }), fc.integer({ min: 1, max: 4 }), (cpuJobs, gpuJobCpus) => {
        // One GPU agent, and GPU-less agents with room for every CPU-only job: the GPU job must always be placed.
        const total = cpuJobs.reduce((a, b) => a + b, 0);
        const cluster = [
          { id: 'gpu', cpus: 4, usedCpus: 0, gpus: 1, usedGpus: 0 },
          { id: 'cpu', cpus: Math.max(4, total), usedCpus: 0 },
        ];
        const pending = [...cpuJobs.map((cpus, i) => ({ key: `c${i}`, cpusReq: cpus })), { key: 'g', cpusReq: gpuJobCpus, gpusReq: 1 }];
        const plan = planAssignments(pending, cluster, { policy: 'multi_knapsack' });
        expect(plan.placements).toContainEqual({ jobKey: 'g', agentId: 'gpu' });
        expect(plan.waiting).toEqual([]);
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
