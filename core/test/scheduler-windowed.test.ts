import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planAssignments, planWindowed, type AgentCapacity, type PendingJob } from '../src/index.js';

/** Yields the jobs, counting how many were read. */
function counted(jobs: readonly PendingJob[]): { jobs: Iterable<PendingJob>; read: () => number } {
  let read = 0;
  return {
    jobs: (function* () {
      for (const job of jobs) {
        read++;
        yield job;
      }
    })(),
    read: () => read,
  };
}

const sweep = (n: number, cpus = 1): PendingJob[] => Array.from({ length: n }, (_, i) => ({ key: `j${i}`, cpusReq: cpus }));
const cluster = (n: number, cpus: number, used = 0): AgentCapacity[] =>
  Array.from({ length: n }, (_, i) => ({ id: `a${i}`, cpus, usedCpus: used }));

describe('planWindowed', () => {
  it('places what planAssignments over the whole list places, for any jobs, agents and policy', () => {
    const agent = fc.record({
      cpus: fc.integer({ min: 1, max: 8 }),
      used: fc.integer({ min: 0, max: 8 }),
      pool: fc.constantFrom('p', 'q', undefined),
    });
    fc.assert(
      fc.property(
        fc.array(agent, { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 40 }),
        fc.constantFrom('multi_knapsack' as const, 'random' as const),
        fc.constantFrom(undefined, ['p'], ['p', 'q']),
        fc.integer({ min: 0, max: 1000 }),
        (agentSpecs, sizes, policy, pools, seed) => {
          const agents = agentSpecs.map((spec, i): AgentCapacity => ({
            id: `a${i}`,
            cpus: spec.cpus,
            usedCpus: Math.min(spec.used, spec.cpus),
            ...(spec.pool ? { pool: spec.pool } : {}),
          }));
          const jobs = sizes.map((cpusReq, i): PendingJob => ({ key: `j${i}`, cpusReq, ...(pools ? { pools } : {}) }));
          const random = () => {
            let state = seed;
            return () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
          };
          const whole = planAssignments(jobs, agents, { policy, random: random() });
          const windowed = planWindowed(jobs, agents, { policy, random: random(), uniformSizes: new Set(sizes).size <= 1 });
          expect(windowed.placements).toEqual(whole.placements);
          // Every job it read and did not place has a reason; those it did not read wait too.
          const placed = new Set(windowed.placements.map((placement) => placement.jobKey));
          expect(windowed.waiting.every((waiting) => !placed.has(waiting.jobKey))).toBe(true);
        },
      ),
    );
  });

  it('reads only as many jobs of a sweep as there are free cpus, and none on a full cluster', () => {
    const some = counted(sweep(10_000));
    const plan = planWindowed(some.jobs, cluster(100, 2, 1), { policy: 'multi_knapsack', uniformSizes: true });
    expect(plan.placements).toHaveLength(100);
    expect(some.read()).toBe(100);
    expect(plan.capacity.every((agent) => agent.usedCpus === 2)).toBe(true);

    const none = counted(sweep(10_000));
    expect(planWindowed(none.jobs, cluster(100, 2, 2), { policy: 'random', random: () => 0, uniformSizes: true }).placements).toEqual([]);
    expect(none.read()).toBe(1);
  });

  it('reads on while jobs too big for the free room leave some of it to later, smaller jobs', () => {
    const jobs = [...sweep(3, 4), ...sweep(2, 1).map((job) => ({ ...job, key: `small-${job.key}` }))];
    const read = counted(jobs);
    const plan = planWindowed(read.jobs, cluster(1, 4, 2), { policy: 'random', random: () => 0, uniformSizes: false });
    expect(plan.placements.map((placement) => placement.jobKey)).toEqual(['small-j0', 'small-j1']);
    expect(plan.waiting.map((waiting) => waiting.jobKey)).toEqual(['j0', 'j1', 'j2']);
    expect(read.read()).toBe(5);
  });
});
