import type { AgentRecord } from '../protocol/messages.js';
import type { JobRecord } from './job.js';

export interface AttemptRef {
  agentId: string;
  runId: string;
  jobId: string;
  attempt: number;
}

/**
 * Attempts an agent says it runs that should not run any more: the job was cancelled, or it moved on to a
 * newer attempt or another agent (its agent was once taken for lost). An attempt whose job just ended by
 * itself is left alone: its container is on its way out.
 */
export function attemptsToStop(
  agents: readonly AgentRecord[],
  jobOf: (runId: string, jobId: string) => JobRecord | undefined,
): AttemptRef[] {
  const stops: AttemptRef[] = [];
  for (const agent of agents) {
    for (const { runId, jobId, attempt } of agent.running) {
      const job = jobOf(runId, jobId);
      const current = job !== undefined && job.attempt === attempt && job.agentId === agent.agentId;
      if (!job || !current || job.state === 'aborted') stops.push({ agentId: agent.agentId, runId, jobId, attempt });
    }
  }
  return stops;
}
