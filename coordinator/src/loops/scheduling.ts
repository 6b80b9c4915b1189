import {
  applyJobEvent,
  jobKey,
  planAssignments,
  planWindowed,
  type AgentCapacity,
  type JobRecord,
  type Log,
  type PendingJob,
} from '@katapult/core';
import { inParallel } from '../pipeline.js';
import { poolIdsOf, type PoolKeeper } from '../pool-keeper.js';
import type { Dispatch } from '../ports/dispatch.js';
import type { HeardAgent, RunRecord, Store, Versioned } from '../store/store.js';
import type { AgentRoster } from './agent-roster.js';
import { assignmentOf, sealForAgent, type SecretKeys } from './assignment.js';
import type { JobEvents } from './job-events.js';

/** KV writes and publishes of one pass in flight at once. */
const WRITES_IN_FLIGHT = 128;
/** How old the agents' records read by the last tick may be for a placement pass to use them. */
const AGENTS_FRESH_FOR_MS = 250;

export interface SchedulingOptions {
  log: Log;
  now: () => number;
  pools: PoolKeeper | undefined;
  /** New work goes only to agents heard from this recently. */
  freshAgentMs?: number | undefined;
  secrets: SecretKeys;
}

/**
 * Placement passes: a snapshot of the view (the running runs' pending jobs, the cpus the active jobs hold on
 * each fresh agent), planned by core's planAssignments run by run, oldest first, then committed with
 * compare-and-set and sent with many writes in flight. Keeps why each pending job waits.
 */
export class Scheduling {
  /** Why each pending job was left waiting by the last placement pass, by job key. */
  private waiting = new Map<string, string>();
  /** Pending jobs of the last placement pass it did not read (no room was left), by run: their reasons are found when asked. */
  private waitingRest = new Map<string, WaitingRest>();
  private nextPass: Promise<void> | undefined;
  /** Assignments planned whose commit has not settled, by job key: not planned again, their cpus taken. */
  private readonly committing = new Map<string, Held>();
  /**
   * Attempts their agent reported ended whose report is not stored yet, by job key: the cpus they held are free on
   * that agent already (its container is gone), so a pass need not wait for the store's round trip to use them.
   */
  private readonly reportedEnded = new Map<string, { attempt: number; agentId: string }>();

  constructor(
    private readonly store: Store,
    private readonly roster: AgentRoster,
    private readonly dispatch: Dispatch,
    private readonly events: JobEvents,
    private readonly options: SchedulingOptions,
  ) {}

  /** Why a pending job is not placed yet, as the last placement pass saw it. */
  waitingReason(job: JobRecord): string | undefined {
    const known = this.waiting.get(jobKey(job.runId, job.id));
    if (known !== undefined) return known;
    const rest = this.waitingRest.get(job.runId);
    if (!rest || job.state !== 'pending') return undefined;
    // Jobs of one size wait for the same reason: planned once, on the room the last pass left.
    const size = `${job.cpusReq}/${job.gpusReq ?? 0}`;
    let reason = rest.bySize.get(size);
    if (reason === undefined) {
      const why = planAssignments([{ key: job.id, cpusReq: job.cpusReq, gpusReq: job.gpusReq ?? 0, pools: rest.pools }], rest.capacity, {
        policy: rest.policy,
      }).waiting[0]?.reason;
      reason = rest.noted(why ?? 'waiting for the next placement pass');
      rest.bySize.set(size, reason);
    }
    return reason;
  }

  /**
   * An agent reported an attempt ended (exited, failed to start, given up): its cpus count as free from now, and a
   * pass is asked for, while the report is being stored. Held until `endStored`, whether the report was stored or
   * not: one that was not is delivered again (and the job still holds its cpus in the store until then).
   */
  endReported(runId: string, jobId: string, attempt: number, agentId: string): void {
    this.reportedEnded.set(jobKey(runId, jobId), { attempt, agentId });
    void this.requestPlacement();
  }

  endStored(runId: string, jobId: string): void {
    this.reportedEnded.delete(jobKey(runId, jobId));
  }

  /**
   * Places pending jobs on the next turn of the event loop: requests made before then join that pass, so a burst
   * of reports costs one pass. A pass plans at once and does not wait for the commits of the passes before it
   * (their jobs and cpus are held aside until those settle), so placement keeps pace with cpus freeing while
   * round trips are slow. Resolves once the pass's own commits have settled.
   */
  requestPlacement(): Promise<void> {
    this.nextPass ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => {
        this.nextPass = undefined;
        return this.place();
      })
      .catch((error: unknown) => this.options.log(`placement failed: ${String(error)}`, { level: 'error' }));
    return this.nextPass;
  }

  private async place(): Promise<void> {
    const { now, pools } = this.options;
    const runs = (await this.store.listRuns()).filter((run) => run.state === 'running');
    // Passes come in bursts between ticks: the agents' records are read again when the last read is not recent.
    const agents = await this.roster.recent(AGENTS_FRESH_FOR_MS);
    // From here to the commits' start nothing waits: passes side by side never plan the same job or cpus.
    const fresh = agents.filter(
      (agent) =>
        now() - agent.heardAt <= (this.options.freshAgentMs ?? Number.POSITIVE_INFINITY) &&
        !this.roster.isLeaving(agent) &&
        (pools?.accepts(agent) ?? true),
    );
    let capacity = agentCapacity(
      fresh,
      this.store
        .activeJobs()
        .map((entry) => entry.value)
        .filter((job) => !this.endedOnAgent(job)),
      this.committing.values(),
    );
    const waiting = new Map<string, string>();
    const rest = new Map<string, WaitingRest>();
    const assignments: { entry: Versioned<JobRecord>; agent: AgentCapacity; run: RunRecord }[] = [];
    for (const run of runs) {
      if (this.store.pendingSizeCount(run.id) === 0) continue;
      const runPools = poolIdsOf(run);
      const byId = new Map<string, Versioned<JobRecord>>();
      const plan = planWindowed(this.plannable(run.id, runPools, byId), capacity, {
        policy: run.jobAssign,
        uniformSizes: this.store.pendingSizeCount(run.id) <= 1,
      });
      const notes = runPools.map((pool) => pools?.launchNote(pool)).filter((note): note is string => Boolean(note));
      const noted = (reason: string) => (notes.length > 0 ? `${reason}; ${notes.join('; ')}` : reason);
      for (const { jobKey: jobId, reason } of plan.waiting) waiting.set(jobKey(run.id, jobId), noted(reason));
      rest.set(run.id, { capacity: plan.capacity, policy: run.jobAssign, pools: runPools, noted, bySize: new Map() });
      const capacityOf = new Map(plan.capacity.map((slot) => [slot.id, slot]));
      for (const placement of plan.placements) {
        const entry = byId.get(placement.jobKey)!;
        const agent = capacityOf.get(placement.agentId)!;
        // Held until the commit settles, won or lost: a job that changed meanwhile frees them for a later pass.
        this.committing.set(jobKey(run.id, entry.value.id), {
          agentId: agent.id,
          cpus: entry.value.cpusReq,
          gpus: entry.value.gpusReq ?? 0,
        });
        assignments.push({ entry, agent, run });
      }
      capacity = plan.capacity;
    }
    this.waiting = waiting;
    this.waitingRest = rest;
    await inParallel(assignments, WRITES_IN_FLIGHT, async ({ entry, agent, run }) => {
      const settled = () => this.committing.delete(jobKey(run.id, entry.value.id));
      try {
        return await this.assign(entry, agent, run, settled);
      } finally {
        settled();
      }
    });
  }

  /** Whether the job's agent reported its current attempt ended, ahead of the store. */
  private endedOnAgent(job: JobRecord): boolean {
    const ended = this.reportedEnded.get(jobKey(job.runId, job.id));
    return ended !== undefined && ended.attempt === job.attempt && ended.agentId === job.agentId;
  }

  /** A run's pending jobs not being committed already, as the planner reads them, each kept in `read` by id. */
  private *plannable(runId: string, pools: string[], read: Map<string, Versioned<JobRecord>>): Generator<PendingJob> {
    for (const entry of this.store.pendingInOrder(runId)) {
      if (this.committing.has(jobKey(runId, entry.value.id))) continue;
      read.set(entry.value.id, entry);
      yield { key: entry.value.id, cpusReq: entry.value.cpusReq, gpusReq: entry.value.gpusReq ?? 0, pools };
    }
  }

  /**
   * Commit first, then send: a job is never sent to an agent unless the store says it is assigned there. `settled`
   * is called once the commit has settled, before the send: from then on the store's record holds the cpus (held
   * twice, they would show a pass less room than there is).
   */
  private async assign(entry: Versioned<JobRecord>, agent: AgentCapacity, run: RunRecord, settled: () => void): Promise<boolean> {
    const agentId = agent.id;
    const result = applyJobEvent(entry.value, { type: 'assign', agentId, ...(agent.pool ? { pool: agent.pool } : {}) }, this.options.now());
    if (!result.changed || !(await this.store.updateJob(result.job, entry.revision).finally(settled))) return false;
    const job = result.job;
    const secrets = sealForAgent(run, job, agentId, this.options.secrets);
    if (secrets !== undefined && !secrets.ok) {
      await this.events.apply(job.runId, job.id, { type: 'start_failed', attempt: job.attempt, message: secrets.problem });
      return false;
    }
    await this.dispatch.sendAssignment(agentId, assignmentOf(job, secrets?.sealed));
    this.options.log(`assigned ${job.runId}/${job.id} attempt ${job.attempt} to ${agentId}`, {
      runId: job.runId,
      jobId: job.id,
      attempt: job.attempt,
      agentId,
    });
    return true;
  }
}

/** Cpus and GPUs a planned assignment holds on its agent until its commit settles. */
interface Held {
  agentId: string;
  cpus: number;
  gpus: number;
}

/** What a placement pass leaves to find the reason of a pending job it did not read. */
interface WaitingRest {
  capacity: AgentCapacity[];
  policy: RunRecord['jobAssign'];
  pools: string[];
  noted: (reason: string) => string;
  bySize: Map<string, string>;
}

/** Each agent's cpus and GPUs, with what the active jobs on it hold, and the assignments being committed. */
function agentCapacity(agents: readonly HeardAgent[], active: readonly JobRecord[], committing: Iterable<Held>): AgentCapacity[] {
  const used = new Map<string, { cpus: number; gpus: number }>();
  const hold = (agentId: string, cpus: number, gpus: number) => {
    const sum = used.get(agentId) ?? { cpus: 0, gpus: 0 };
    used.set(agentId, { cpus: sum.cpus + cpus, gpus: sum.gpus + gpus });
  };
  for (const job of active) if (job.agentId) hold(job.agentId, job.cpusReq, job.gpusReq ?? 0);
  for (const held of committing) hold(held.agentId, held.cpus, held.gpus);
  return agents.map((agent) => ({
    id: agent.agentId,
    ...(agent.pool ? { pool: agent.pool } : {}),
    cpus: agent.cpus,
    usedCpus: used.get(agent.agentId)?.cpus ?? 0,
    gpus: agent.gpus ?? 0,
    usedGpus: used.get(agent.agentId)?.gpus ?? 0,
  }));
}
