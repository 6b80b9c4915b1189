/** The line that opens one attempt's output in `logs` of a job that ran more than once. */
export const attemptHeader = (attempt: number): string => `── attempt ${attempt} ──`;

/**
 * Says where a job's log needs a line naming the attempt that follows: before the first line of each attempt,
 * once the job has run more than once (known from the run's view, or from a second attempt turning up while
 * following). A job that ran once gets no header, so its log reads as it printed it.
 */
export class AttemptHeaders {
  private readonly last = new Map<string, number>();

  constructor(private readonly attemptsOf: (job: string) => number) {}

  /** The header to print before this line of `job`, if one is due. */
  before(job: string, attempt: number): string | undefined {
    const previous = this.last.get(job);
    if (previous === attempt) return undefined;
    this.last.set(job, attempt);
    if (previous === undefined && this.attemptsOf(job) <= 1) return undefined;
    return attemptHeader(attempt);
  }
}
