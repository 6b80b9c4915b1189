import type { HeardAgent, Store } from '../store/store.js';

/**
 * The agents as last read from the store, and those that gave an attempt up (a `lost` report), by the report's
 * time on the agent's clock: one leaving (a spot interruption) deletes its heartbeat first, but one that fenced
 * itself (its lease ran out) stays and heartbeats on. A heartbeat the agent stored after its report takes it back;
 * one already on its way when it left does not.
 */
export class AgentRoster {
  private agents: HeardAgent[] = [];
  private readAt = 0;
  private readonly leaving = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  async read(): Promise<HeardAgent[]> {
    const agents = await this.store.listAgents();
    this.agents = agents;
    this.readAt = this.now();
    const listed = new Set(agents.map((agent) => agent.agentId));
    for (const agentId of this.leaving.keys()) if (!listed.has(agentId)) this.leaving.delete(agentId);
    for (const agent of agents) if (!this.isLeaving(agent)) this.leaving.delete(agent.agentId);
    return agents;
  }

  /** The agents as read at most `maxAgeMs` ago: read again if the last read is older. */
  async recent(maxAgeMs: number): Promise<HeardAgent[]> {
    return this.now() - this.readAt > maxAgeMs ? await this.read() : this.agents;
  }

  /** An agent reported giving an attempt up at `at` (its clock). */
  gaveUp(agentId: string, at: number): void {
    this.leaving.set(agentId, Math.max(at, this.leaving.get(agentId) ?? 0));
  }

  /** Whether an agent is leaving: no new work, whatever its record says. */
  isLeaving(agent: HeardAgent): boolean {
    const reportedAt = this.leaving.get(agent.agentId);
    return reportedAt !== undefined && agent.at <= reportedAt;
  }
}
