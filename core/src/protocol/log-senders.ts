/** What a log reader knows of a job: its attempt now, the agent it is on, and the agents of its earlier attempts. */
export interface AttemptAgents {
  attempt: number;
  agentId: string | null;
  /** Ended attempts, oldest first; absent on records kept before attempt history. */
  history?: readonly { attempt: number; agentId: string | null }[] | undefined;
}

/**
 * Whether a log record of `attempt`, written under `sender`'s subject, is that attempt's own: `ok` when the agent
 * the attempt was given to wrote it, `forged` when another did, `unknown` when the reader's view of the job does
 * not know that attempt's agent yet (a newer attempt than it has seen): to be held and asked again once the view
 * is fresher. Records under the old subjects name no sender and are taken as they are, as are earlier attempts of
 * a record with no history.
 */
export function logSenderVerdict(job: AttemptAgents, attempt: number, sender: string | undefined): 'ok' | 'forged' | 'unknown' {
  if (sender === undefined) return 'ok';
  if (attempt > job.attempt || (attempt === job.attempt && job.agentId === null)) return 'unknown';
  if (attempt === job.attempt) return job.agentId === sender ? 'ok' : 'forged';
  if (!job.history) return 'ok';
  return job.history.some((past) => past.attempt === attempt && past.agentId === sender) ? 'ok' : 'forged';
}
