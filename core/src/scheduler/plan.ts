import type { JobAssignPolicy } from '../model/run-spec.js';

/**
 * Scheduling is a pure function of a snapshot: which pending jobs go to which agents. It never does I/O;
 * the coordinator commits the plan (with a revision check) and publishes the assignments.
 */
export interface PendingJob {
  key: string;
  cpusReq: number;
  /** GPUs the job needs; absent: none. */
  gpusReq?: number;
  /** The pools of the job's run: it goes only to an agent of one of them. Absent: any agent. */
  pools?: readonly string[];
}

export interface AgentCapacity {
  id: string;
  cpus: number;
  usedCpus: number;
  /** GPUs the agent offers; absent: none. */
  gpus?: number;
  usedGpus?: number;
  /** The pool the agent belongs to; an agent without one takes only jobs that name no pool. */
  pool?: string;
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

interface Free {
  cpus: number;
  gpus: number;
}

export function planAssignments(pending: readonly PendingJob[], agents: readonly AgentCapacity[], options: PlanOptions): Plan {
  const free = new Map<string, Free>(
    agents.map((agent) => [agent.id, { cpus: agent.cpus - agent.usedCpus, gpus: (agent.gpus ?? 0) - (agent.usedGpus ?? 0) }]),
  );
  const busy = new Set(agents.filter((agent) => agent.usedCpus > 0 || (agent.usedGpus ?? 0) > 0).map((agent) => agent.id));
  const plan: Plan = { placements: [], waiting: [] };
  // GPUs are the scarcer resource: GPU jobs are placed first, so CPU-only jobs cannot take a GPU agent's cpus from them.
  const order =
    options.policy === 'multi_knapsack'
      ? [...pending].sort((a, b) => (b.gpusReq ?? 0) - (a.gpusReq ?? 0) || b.cpusReq - a.cpusReq)
      : [...pending];

  // Free room only shrinks during a pass: a kind of job that found none will find none later in it.
  const noRoom = new Map<string, string>();
  for (const job of order) {
    const gpusReq = job.gpusReq ?? 0;
    const kind = `${job.cpusReq}/${gpusReq}/${job.pools?.join(',') ?? '*'}`;
    const known = noRoom.get(kind);
    if (known !== undefined) {
      plan.waiting.push({ jobKey: job.key, reason: known });
      continue;
    }
    const eligible = job.pools ? agents.filter((agent) => agent.pool !== undefined && job.pools!.includes(agent.pool)) : agents;
    const fits = eligible.filter((agent) => {
      const room = free.get(agent.id)!;
      return room.cpus >= job.cpusReq && room.gpus >= gpusReq;
    });
    if (fits.length === 0) {
      const reason = job.pools
        ? whyWaitingInPools(job.cpusReq, gpusReq, job.pools, eligible, free)
        : whyWaiting(job.cpusReq, gpusReq, agents, free);
      noRoom.set(kind, reason);
      plan.waiting.push({ jobKey: job.key, reason });
      continue;
    }
    const chosen = options.policy === 'multi_knapsack' ? bestFit(fits, free, busy) : pick(fits, options.random ?? Math.random);
    const room = free.get(chosen.id)!;
    free.set(chosen.id, { cpus: room.cpus - job.cpusReq, gpus: room.gpus - gpusReq });
    busy.add(chosen.id);
    plan.placements.push({ jobKey: job.key, agentId: chosen.id });
  }
  return plan;
}

function whyWaiting(cpusReq: number, gpusReq: number, agents: readonly AgentCapacity[], free: Map<string, Free>): string {
  if (agents.length === 0) return 'no agent is up yet';
  const largest = Math.max(...agents.map((agent) => agent.cpus));
  if (cpusReq > largest) return `needs ${cpusReq} cpus; the largest agent has ${largest}`;
  if (gpusReq === 0) return 'waiting for free cpus';
  const mostGpus = Math.max(...agents.map((agent) => agent.gpus ?? 0));
  if (gpusReq > mostGpus) return `needs ${gpusReq} gpus; the agent with the most has ${mostGpus}`;
  const big = agents.filter((agent) => agent.cpus >= cpusReq && (agent.gpus ?? 0) >= gpusReq);
  if (big.length === 0) return `needs ${cpusReq} cpus and ${gpusReq} gpus on one agent; none has both`;
  if (big.some((agent) => free.get(agent.id)!.gpus >= gpusReq)) return 'waiting for free cpus';
  return 'waiting for free gpus';
}

/** Why a job of a run with pools waits, in terms of those pools: `needs 2 cpus; pool hello/1a2b3c4d has 0 free of 2`. */
function whyWaitingInPools(
  cpusReq: number,
  gpusReq: number,
  pools: readonly string[],
  eligible: readonly AgentCapacity[],
  free: Map<string, Free>,
): string {
  const named = pools.length === 1 ? `pool ${pools[0]}` : `pools ${pools.join(', ')}`;
  if (eligible.length === 0) return `no agent of ${named} is up yet`;
  const largest = Math.max(...eligible.map((agent) => agent.cpus));
  if (cpusReq > largest) return `needs ${count(cpusReq, 'cpu')}; the largest agent of ${named} has ${largest}`;
  const gpuShort = gpusReq > 0 && !eligible.some((agent) => agent.cpus >= cpusReq && free.get(agent.id)!.gpus >= gpusReq);
  const need = gpusReq > 0 ? `${count(cpusReq, 'cpu')} and ${count(gpusReq, 'gpu')}` : count(cpusReq, 'cpu');
  const room = pools
    .map((pool) => {
      const mine = eligible.filter((agent) => agent.pool === pool);
      if (mine.length === 0) return `pool ${pool} has no agent up`;
      const sum = (count: (agent: AgentCapacity) => number) => mine.reduce((total, agent) => total + count(agent), 0);
      return gpuShort
        ? `pool ${pool} has ${sum((agent) => free.get(agent.id)!.gpus)} free of ${sum((agent) => agent.gpus ?? 0)} gpus`
        : `pool ${pool} has ${sum((agent) => free.get(agent.id)!.cpus)} free of ${sum((agent) => agent.cpus)}`;
    })
    .join(', ');
  return `needs ${need}; ${room}`;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/**
 * Prefer the agents with the fewest free GPUs, then the fewest GPUs at all, so that a job leaves GPUs, and the cpus
 * beside them, to the jobs that need GPUs; then agents already busy (fewest instances in use); then the tightest
 * fit (least free cpus left).
 */
function bestFit(fits: AgentCapacity[], free: Map<string, Free>, busy: Set<string>): AgentCapacity {
  const room = (agent: AgentCapacity) => free.get(agent.id)!;
  return [...fits].sort(
    (a, b) =>
      room(a).gpus - room(b).gpus ||
      (a.gpus ?? 0) - (b.gpus ?? 0) ||
      Number(busy.has(b.id)) - Number(busy.has(a.id)) ||
      room(a).cpus - room(b).cpus ||
      a.id.localeCompare(b.id),
  )[0]!;
}

function pick(fits: AgentCapacity[], random: () => number): AgentCapacity {
  return fits[Math.min(fits.length - 1, Math.floor(random() * fits.length))]!;
}
