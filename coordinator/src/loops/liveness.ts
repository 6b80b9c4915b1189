import { KatapultError, plural, type AgentRecord, type JobRecord, type Log } from '@katapult/core';
import type { NatsLink } from '../nats-link.js';
import { inParallel } from '../pipeline.js';
import type { PoolKeeper } from '../pool-keeper.js';
import type { Store } from '../store/store.js';
import type { JobEvents } from './job-events.js';

/** KV writes of one pass in flight at once. */
const WRITES_IN_FLIGHT = 128;

/**
 * After NATS was away (or this coordinator was), heartbeat entries may have expired while every agent was fine:
 * the agents get a full grace period to heartbeat again before any of them is taken for lost (or forgotten).
 */
export class AgentGrace {
  private startedAt = 0;

  constructor(
    private readonly graceMs: number,
    private readonly now: () => number,
    private readonly link: NatsLink | undefined,
  ) {}

  /** This coordinator starts now. */
  begin(): void {
    this.startedAt = this.now();
  }

  /** Whether the grace period is still on: no agent is taken for lost or forgotten yet. */
  get active(): boolean {
    return this.now() - (this.link?.connectedSince ?? this.startedAt) < this.graceMs;
  }
}

export interface LivenessOptions {
  /** How long an assigned job may go unclaimed by a live agent before it counts as lost. */
  lostGraceMs: number;
  log: Log;
  now: () => number;
  pools: PoolKeeper | undefined;
}

/**
 * Jobs of agents whose heartbeat record expired go back to pending, once their agent is fenced: its instance and
 * job containers gone, so a stalled agent cannot finish an attempt that then runs again elsewhere. An agent that
 * cannot be fenced yet keeps its jobs until a later tick manages it.
 */
export class Liveness {
  constructor(
    private readonly store: Store,
    private readonly events: JobEvents,
    private readonly grace: AgentGrace,
    private readonly options: LivenessOptions,
  ) {}

  async requeueLost(agents: readonly AgentRecord[]): Promise<void> {
    if (this.grace.active) return;
    const { lostGraceMs, log, now } = this.options;
    const live = new Set(agents.map((agent) => agent.agentId));
    const lostByAgent = new Map<string, JobRecord[]>();
    for (const { value: job } of this.store.activeJobs()) {
      if (!job.agentId || live.has(job.agentId) || now() - (job.assignedAt ?? 0) < lostGraceMs) continue;
      lostByAgent.set(job.agentId, [...(lostByAgent.get(job.agentId) ?? []), job]);
    }
    await inParallel([...lostByAgent], WRITES_IN_FLIGHT, async ([agentId, jobs]) => {
      const run = await this.store.getRun(jobs[0]!.runId);
      try {
        if (run) await this.options.pools?.fence(agentId, run);
      } catch (error) {
        log(
          `agent ${agentId} is gone but cannot be fenced yet (${error instanceof KatapultError ? error.toLine() : String(error)}); its ${plural(jobs.length, 'job')} wait`,
          { agentId, level: 'warn' },
        );
        return;
      }
      for (const job of jobs) {
        log(`agent ${agentId} is gone; ${job.runId}/${job.id} attempt ${job.attempt} is lost`, {
          runId: job.runId,
          jobId: job.id,
          attempt: job.attempt,
          agentId,
          level: 'warn',
        });
        await this.events.apply(job.runId, job.id, { type: 'agent_lost', attempt: job.attempt });
      }
    });
  }
}
