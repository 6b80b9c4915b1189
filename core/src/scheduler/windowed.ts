import { planAssignments, type AgentCapacity, type PendingJob, type Plan, type PlanOptions } from './plan.js';

export interface WindowedPlan extends Plan {
  /** The agents as the placements leave them; jobs not read were left waiting for want of room in these. */
  capacity: AgentCapacity[];
}

/**
 * planAssignments over one run's pending jobs (they share its pools), read a window at a time: as many jobs as the
 * run's agents have free cpus (each job asks for one at least), then more only while some agent has a free cpu
 * left. The placements are those of planAssignments over the whole list, but a pass over 10,000 pending jobs on a
 * full cluster reads none of them. The knapsack orders jobs by size first, so with jobs of several sizes
 * (`uniformSizes` false) it reads the whole list, as it must.
 */
export function planWindowed(
  pending: Iterable<PendingJob>,
  agents: readonly AgentCapacity[],
  options: PlanOptions & { uniformSizes: boolean },
): WindowedPlan {
  const capacity = agents.map((agent) => ({ ...agent }));
  if (options.policy === 'multi_knapsack' && !options.uniformSizes) return { ...planOn([...pending], capacity, options), capacity };
  const plan: WindowedPlan = { placements: [], waiting: [], capacity };
  const jobs = pending[Symbol.iterator]();
  let first = jobs.next();
  if (first.done) return plan;
  const eligible = first.value.pools
    ? capacity.filter((agent) => agent.pool !== undefined && first.value.pools!.includes(agent.pool))
    : capacity;
  const freeCpus = () => eligible.reduce((sum, agent) => sum + Math.max(0, agent.cpus - agent.usedCpus), 0);
  for (let room = freeCpus(); room > 0; room = freeCpus()) {
    const window: PendingJob[] = [];
    if (!first.done) {
      window.push(first.value);
      first = { done: true, value: undefined };
    }
    for (
      let next = window.length < room ? jobs.next() : undefined;
      next && !next.done;
      next = window.length < room ? jobs.next() : undefined
    )
      window.push(next.value);
    if (window.length === 0) break;
    const part = planOn(window, capacity, options);
    plan.placements.push(...part.placements);
    plan.waiting.push(...part.waiting);
    if (window.length < room) break;
  }
  return plan;
}

/** planAssignments, with what it placed taken from `capacity`. */
function planOn(jobs: readonly PendingJob[], capacity: AgentCapacity[], options: PlanOptions): Plan {
  const plan = planAssignments(jobs, capacity, options);
  const byId = new Map(capacity.map((agent) => [agent.id, agent]));
  const byKey = new Map(jobs.map((job) => [job.key, job]));
  for (const { jobKey, agentId } of plan.placements) {
    const agent = byId.get(agentId)!;
    const job = byKey.get(jobKey)!;
    agent.usedCpus += job.cpusReq;
    agent.usedGpus = (agent.usedGpus ?? 0) + (job.gpusReq ?? 0);
  }
  return plan;
}
