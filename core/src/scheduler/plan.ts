import type { JobAssignPolicy } from '../model/run-spec.js';

/**
 * Scheduling is a pure function of a snapshot: which pending jobs go to which agents. It never does I/O;
 * the coordinator commits the plan (with a revision check) and publishes the assignments.
 */
export interface PendingJob {
  key: string;
  cpusReq: number;
}

export interface AgentCapacity {
  id: string;
  cpus: number;
  usedCpus: number;
}

export interface Placement {
  jobKey: string;
  agentId: string;
}

export interface Plan {
  placements: Placement[];
  /** Jobs left pending, each with why. */
  waiting: { jobKey: string; reason: string }[];
}

export interface PlanOptions {
  policy: JobAssignPolicy;
  /** Returns a float in [0, 1); injected so `random` is reproducible in tests. */
  random?: () => number;
}

export function planAssignments(pending: readonly PendingJob[], agents: readonly AgentCapacity[], options: PlanOptions): Plan {
  const free = new Map(agents.map((agent) => [agent.id, agent.cpus - agent.usedCpus]));
  const busy = new Set(agents.filter((agent) => agent.usedCpus > 0).map((agent) => agent.id));
  const largest = Math.max(0, ...agents.map((agent) => agent.cpus));
  const plan: Plan = { placements: [], waiting: [] };
  const order =
    options.policy === 'multi_knapsack'
      ? [...pending].sort((a, b) => b.cpusReq - a.cpusReq)
      : [...pending];

  for (const job of order) {
    const fits = agents.filter((agent) => (free.get(agent.id) ?? 0) >= job.cpusReq);
    if (fits.length === 0) {
      const reason = agents.length === 0
        ? 'no agent is up yet'
        : job.cpusReq > largest
          ? `needs ${job.cpusReq} cpus; the largest agent has ${largest}`
          : 'waiting for free cpus';
      plan.waiting.push({ jobKey: job.key, reason });
      continue;
    }
    const chosen = options.policy === 'multi_knapsack' ? bestFit(fits, free, busy) : pick(fits, options.random ?? Math.random);
    free.set(chosen.id, (free.get(chosen.id) ?? 0) - job.cpusReq);
    busy.add(chosen.id);
    plan.placements.push({ jobKey: job.key, agentId: chosen.id });
  }
  return plan;
}

/** Prefer agents already busy (fewest instances in use), then the tightest fit (least free cpus left). */
function bestFit(fits: AgentCapacity[], free: Map<string, number>, busy: Set<string>): AgentCapacity {
  return [...fits].sort(
    (a, b) =>
      Number(busy.has(b.id)) - Number(busy.has(a.id)) ||
      (free.get(a.id) ?? 0) - (free.get(b.id) ?? 0) ||
      a.id.localeCompare(b.id),
  )[0]!;
}

function pick(fits: AgentCapacity[], random: () => number): AgentCapacity {
  return fits[Math.min(fits.length - 1, Math.floor(random() * fits.length))]!;
}
