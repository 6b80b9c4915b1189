import { fetchRunOutputs, followEventLine, readLogs, watchRun, withNats, type FetchedJob, type StackContext } from '@katapult/launcher';
import { clusterNames, ExitCode, KatapultError, type CancelRunResponse, type JobState, type RunView } from '@katapult/core';
import { reached, type WaitUntil } from './wait-until.js';

export interface WaitOptions {
  /** Default: `over`, every job has ended. */
  until?: WaitUntil;
  /** Give up with KP_WAIT_TIMEOUT after this long; the run goes on. Default: no limit. */
  timeoutMs?: number;
}

export interface LogLine {
  job: string;
  stream: 'stdout' | 'stderr';
  line: string;
  /** When the agent read the line, in epoch milliseconds. */
  at: number;
}

/** One run of the stack, submitted by this script or by `katapult launch`: the counterpart of the original's run session. */
export class RunHandle {
  constructor(
    readonly id: string,
    private readonly stack: StackContext,
    private readonly onProgress: (line: string) => void,
  ) {}

  /** The run and its jobs as `katapult status --json` shows them. */
  view(): Promise<RunView> {
    return this.stack.client.getRun(this.id);
  }

  /** Each job's state, by job name, in config order. */
  async states(): Promise<Record<string, JobState>> {
    return Object.fromEntries((await this.view()).jobs.map((job) => [job.id, job.state]));
  }

  /** Follows the run until it reaches `until`, and returns it as it is then. */
  wait(options: WaitOptions = {}): Promise<RunView> {
    const until = options.until ?? 'over';
    const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
    return watchRun(this.stack.client, this.id, (event) => this.onProgress(followEventLine(event)), {
      agentLogHint: `see the agents' output: docker logs kp-${this.stack.stack.label}-local-0`,
      until: (run) => {
        if (reached(run, until)) return true;
        if (Date.now() < deadline) return false;
        throw new KatapultError('KP_WAIT_TIMEOUT', `run ${this.id} was not ${until} within ${options.timeoutMs} ms`, {
          hint: 'it goes on: wait again, or cancel it',
        });
      },
    });
  }

  /** Every line the run's jobs (or one job) printed so far, in the order they were stored. */
  async logs(job?: string): Promise<LogLine[]> {
    if (job !== undefined && !(await this.view()).jobs.some((known) => known.id === job)) {
      throw new KatapultError('KP_JOB_NOT_FOUND', `run ${this.id} has no job named "${job}"`, { exitCode: ExitCode.badInput });
    }
    const lines: LogLine[] = [];
    await readLogs({
      nats: this.stack.nats,
      cluster: this.stack.stack.cluster,
      runId: this.id,
      ...(job === undefined ? {} : { jobId: job }),
      jobs: async () => (await this.view()).jobs,
      onRecord: (from, record) => {
        if (!('eof' in record)) lines.push({ job: from, stream: record.stream, line: record.line, at: record.at });
      },
      caughtUp: async () => true,
    });
    return lines;
  }

  /** Downloads the jobs' output files into `outDir/<run>/<job>/`, as `katapult fetch --out outDir` does. */
  async fetch(outDir: string): Promise<FetchedJob[]> {
    const run = await this.view();
    return withNats(this.stack.nats, (nc) => fetchRunOutputs(nc, clusterNames(this.stack.stack.cluster), run, outDir));
  }

  /** Cancels one job, or every unfinished job of the run; their containers are stopped by their agents. */
  cancel(job?: string): Promise<CancelRunResponse> {
    return this.stack.client.cancelRun(this.id, job === undefined ? {} : { jobs: [job] });
  }
}
