/** "1 job", "2 jobs", "0 jobs": a count with its noun, singular only for one. */
export function plural(count: number, noun: string, nounPlural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nounPlural}`;
}

/** The states of a job's life, in the order the CLI's and the dashboard's counts list them. */
export const JOB_STATE_ORDER = ['blocked', 'pending', 'assigned', 'pulling', 'running', 'done', 'failed', 'aborted', 'skipped'] as const;

/** "3 done, 1 failed": how many jobs are in each state, in the order of a job's life; as status and the dashboard say it. */
export function jobStateCounts(jobs: readonly { state: string }[]): string {
  const counts = new Map<string, number>();
  for (const job of jobs) counts.set(job.state, (counts.get(job.state) ?? 0) + 1);
  const known: readonly string[] = JOB_STATE_ORDER;
  const states = [...JOB_STATE_ORDER.filter((state) => counts.has(state)), ...[...counts.keys()].filter((state) => !known.includes(state))];
  return states.map((state) => `${counts.get(state)} ${state}`).join(', ');
}
