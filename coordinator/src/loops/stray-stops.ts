import { attemptsToStop, jobKey, type AgentRecord, type JobRecord, type Log } from '@katapult/core';
import type { Dispatch } from '../ports/dispatch.js';
import type { Store } from '../store/store.js';

const STOP_RESEND_MS = 3_000;

/**
 * Asks agents to stop attempts that should not run (cancelled, or superseded after their agent was taken for
 * lost). Stop requests are best effort, so one lost is simply sent again on a later tick, but not on every tick.
 */
export class StrayStops {
  /** When each stop request was last sent, so a slow agent is asked again, but not on every tick. */
  private readonly sent = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly dispatch: Dispatch,
    private readonly log: Log,
    private readonly now: () => number,
  ) {}

  async stopStrays(agents: readonly AgentRecord[]): Promise<void> {
    const jobs = new Map<string, JobRecord>();
    for (const agent of agents) {
      for (const { runId, jobId } of agent.running) {
        const entry = await this.store.getJob(runId, jobId);
        if (entry) jobs.set(jobKey(runId, jobId), entry.value);
      }
    }
    const jobOf = (runId: string, jobId: string) => jobs.get(jobKey(runId, jobId));
    const now = this.now();
    for (const [key, sentAt] of this.sent) if (now - sentAt > 20 * STOP_RESEND_MS) this.sent.delete(key);
    for (const stop of attemptsToStop(agents, jobOf)) {
      const key = `${stop.agentId}.${stop.runId}.${stop.jobId}.${stop.attempt}`;
      if (now - (this.sent.get(key) ?? 0) < STOP_RESEND_MS) continue;
      this.sent.set(key, now);
      this.dispatch.sendStop(stop.agentId, { v: 1, runId: stop.runId, jobId: stop.jobId, attempt: stop.attempt });
      this.log(`asked ${stop.agentId} to stop ${stop.runId}/${stop.jobId} attempt ${stop.attempt}`, {
        runId: stop.runId,
        jobId: stop.jobId,
        attempt: stop.attempt,
        agentId: stop.agentId,
      });
    }
  }
}
