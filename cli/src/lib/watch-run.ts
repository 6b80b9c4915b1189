import { ExitCode, isFinal, KatapultError, type AgentView, type CostEstimate, type RunView } from '@katapult/core/light';
import type { CoordinatorClient } from './client.js';
import { describeChanges, JOB_ROWS_SHOWN, summarizeRun } from '../render/run-view.js';

const TROUBLE_TOLERANCE_MS = 60_000;
/** With nothing changing for this long, a line of counts shows the run is alive. */
const QUIET_SUMMARY_MS = 10_000;
const BIG_RUN_SUMMARY_MS = 2_000;

export interface WatchOptions {
  intervalMs?: number;
  /** How long jobs may wait with no agent registered before the instances count as failed to boot. */
  agentBootTimeoutMs?: number;
  /** Where to look when agents do not come up. */
  agentLogHint: string;
  /** The cost so far of the run's instances, added to the summary lines (AWS only). */
  cost?: (run: RunView) => CostEstimate;
  /** When to stop (default: the run is over); may throw to give up. */
  until?: (run: RunView) => boolean;
  /** Where the summary of counts goes (a line redrawn in place on a terminal); default: a line like the others. */
  onSummary?: (line: string, run: RunView) => void;
}

export function runOver(run: RunView): boolean {
  return run.state !== 'running' && run.jobs.every((job) => isFinal(job.state));
}

/** Polls the run until it is over (or `until` says so), reporting each job's state changes as they happen. */
export async function watchRun(client: CoordinatorClient, runId: string, onLine: (line: string) => void, options: WatchOptions): Promise<RunView> {
  const started = Date.now();
  const bootTimeout = options.agentBootTimeoutMs ?? 90_000;
  let previous: RunView | undefined;
  let sawAgent = false;
  let troubleSince: number | undefined;
  let lastLineAt = Date.now();
  /** The agents of the last summary given to onSummary, if one was. */
  let summarized: AgentView[] | undefined;
  const say = (line: string) => {
    lastLineAt = Date.now();
    onLine(line);
  };
  for (;;) {
    let run: RunView;
    try {
      run = await client.getRun(runId);
      troubleSince = undefined;
    } catch (error) {
      // NATS or the coordinator restarting is a pause, not the end: keep asking for a while.
      const transient = !(error instanceof KatapultError) || error.exitCode === ExitCode.infrastructure;
      if (!transient || Date.now() - (troubleSince ?? Date.now()) > TROUBLE_TOLERANCE_MS) throw error;
      if (troubleSince === undefined) say(`the coordinator does not answer (${(error as Error).message}); retrying`);
      troubleSince ??= Date.now();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      continue;
    }
    for (const line of describeChanges(previous, run)) say(line);
    previous = run;
    if ((options.until ?? runOver)(run)) {
      // A redrawn status line ends on how the run ended, not on the counts of its last summary.
      if (summarized) options.onSummary?.(summarizeRun(run, summarized, options.cost?.(run)), run);
      return run;
    }
    // A big run's jobs get no line each: its summary comes more often instead.
    const quiet = Date.now() - lastLineAt > (run.jobs.length > JOB_ROWS_SHOWN ? BIG_RUN_SUMMARY_MS : QUIET_SUMMARY_MS);
    if (!sawAgent || quiet) {
      // Only the run's own pools serve it; other projects' agents on the stack are not its instances.
      const agents = (await client.listAgents()).filter((agent) => !run.pools || (agent.pool !== null && run.pools.includes(agent.pool)));
      sawAgent ||= agents.length > 0;
      if (quiet) {
        const summary = summarizeRun(run, agents, options.cost?.(run));
        if (options.onSummary) {
          lastLineAt = Date.now();
          summarized = agents;
          options.onSummary(summary, run);
        } else say(summary);
      }
      if (!sawAgent && Date.now() - started > bootTimeout) {
        throw new KatapultError('KP_AGENTS_NOT_UP', `no agent registered within ${bootTimeout / 1000}s; run ${runId} is kept and will start when one does`, {
          hint: options.agentLogHint,
          exitCode: ExitCode.infrastructure,
        });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 300));
  }
}
