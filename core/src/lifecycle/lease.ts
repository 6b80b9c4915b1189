/**
 * An agent's heartbeat record is its lease: the coordinator takes an agent for lost, fences it and requeues its
 * jobs only once the record is older than the lease. An agent that could not store a heartbeat for a share of
 * its lease stops its job containers itself, first, so the same attempt never runs on two agents at once.
 *
 * Both sides measure durations on their own monotonic clocks, and the agent's starts earlier (when it sent the
 * heartbeat, not when NATS stored it), so no clock needs to agree with another: the margin, the rest of the lease
 * (4 s by default), only has to cover the agent's timer firing late and its containers taking the kill.
 */
export const LEASE_HEARTBEATS = 5;
export const SELF_FENCE_SHARE = 0.6;

/** How long an agent's heartbeat record lives: the coordinator's patience with a silent agent. */
export function agentLeaseMs(heartbeatMs: number): number {
  return heartbeatMs * LEASE_HEARTBEATS;
}

/**
 * Whether an agent whose last stored heartbeat was sent at `renewedAt` must stop its job containers now. An agent
 * that never stored one holds no lease to lose.
 */
export function selfFenceDue(renewedAt: number | undefined, now: number, heartbeatMs: number): boolean {
  return renewedAt !== undefined && now - renewedAt > agentLeaseMs(heartbeatMs) * SELF_FENCE_SHARE;
}
