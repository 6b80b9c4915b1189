import type { AgentRecord, ClusterNames, Log } from '@katapult/core';
import type { Dispatch } from '../ports/dispatch.js';
import type { AgentGrace } from './liveness.js';

const SWEEP_MS = 20_000;
const GONE_FOR_MS = 60_000;

/**
 * A gone agent leaves an assignment queue and maybe assignments it never took; its jobs were requeued under
 * new attempts, so both are removed once it has had no heartbeat entry for GONE_FOR_MS (checked every SWEEP_MS).
 */
export class GoneAgentSweep {
  private sweptAt = 0;
  /** Queues of agents with no heartbeat entry, and since when they were seen so. */
  private readonly goneSince = new Map<string, number>();

  constructor(
    private readonly names: ClusterNames,
    private readonly dispatch: Dispatch,
    private readonly grace: AgentGrace,
    private readonly log: Log,
    private readonly now: () => number,
  ) {}

  async sweep(agents: readonly AgentRecord[]): Promise<void> {
    const now = this.now();
    if (now - this.sweptAt < SWEEP_MS || this.grace.active) return;
    this.sweptAt = now;
    const live = new Set(agents.map((agent) => this.names.agentConsumer(agent.agentId)));
    const seen = new Set<string>();
    for await (const queue of this.dispatch.assignmentQueues()) {
      if (live.has(queue.name)) continue;
      seen.add(queue.name);
      const goneSince = this.goneSince.get(queue.name) ?? now;
      this.goneSince.set(queue.name, goneSince);
      if (now - goneSince < GONE_FOR_MS) continue;
      this.goneSince.delete(queue.name);
      await this.dispatch.dropAssignmentQueue(queue);
      this.log(`forgot gone agent's consumer ${queue.name} and its unclaimed assignments`);
    }
    for (const name of this.goneSince.keys()) if (!seen.has(name)) this.goneSince.delete(name);
  }
}
