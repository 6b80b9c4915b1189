import { ExitCode, isFinal, KatapultError, type AgentView, type CostEstimate, type RunView } from '@katapult/core/light';
import type { CoordinatorClient } from '../stack/client.js';
import { changedJobs, JOB_ROWS_SHOWN } from './run-changes.js';
import type { OnFollowEvent } from './follow-events.js';

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
  /** The summary of counts is redrawn in place (a terminal), so the last one comes again, final, when the run ends. */
  summaryInPlace?: boolean;
}

export function runOver(run: RunView): boolean {
  return run.state !== 'running' && run.jobs.every((job) => isFinal(job.state));
}

/** Polls the run until it is over (or `until` says so), reporting each job's state changes as they happen. */
export async function watchRun(client: CoordinatorClient, runId: string, emit: OnFollowEvent, options: WatchOptions): Promise<RunView> {
  const started = Date.now();
  const bootTimeout = options.agentBootTimeoutMs ?? 90_000;
  let previous: RunView | undefined;
  let sawAgent = false;
  let troubleSince: number | undefined;
  let lastLineAt = Date.now();
  /** The agents of the last summary redrawn in place, if one was. */
  let summarized: AgentView[] | undefined;
  const say: OnFollowEvent = (event) => {
    lastLineAt = Date.now();
    emit(event);
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
      if (troubleSince === undefined) say({ type: 'coordinator-unreachable', reason: (error as Error).message });
      troubleSince ??= Date.now();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      continue;
    }
    for (const job of changedJobs(previous, run)) say({ type: 'job-changed', job });
    previous = run;
    if ((options.until ?? runOver)(run)) {
      // A redrawn status line ends on how the run ended, not on the counts of its last summary.
      if (summarized) emit({ type: 'summary', run, agents: summarized, ...costOf(run, options), final: true });
      return run;
    }
    // A big run's jobs get no line each: its summary comes more often instead.
    const quiet = Date.now() - lastLineAt > (run.jobs.length > JOB_ROWS_SHOWN ? BIG_RUN_SUMMARY_MS : QUIET_SUMMARY_MS);
    if (!sawAgent || quiet) {
      // Only the run's own pools serve it; other projects' agents on the stack are not its instances.
      const agents = (await client.listAgents()).filter((agent) => !run.pools || (agent.pool !== null && run.pools.includes(agent.pool)));
      sawAgent ||= agents.length > 0;
      if (quiet) {
        if (options.summaryInPlace) summarized = agents;
        say({ type: 'summary', run, agents, ...costOf(run, options), final: false });
      }
      if (!sawAgent && Date.now() - started > bootTimeout) {
        throw new KatapultError(
          'KP_AGENTS_NOT_UP',
          `no agent registered within ${bootTimeout / 1000}s; run ${runId} is kept and will start when one does`,
          {
            hint: options.agentLogHint,
            exitCode: ExitCode.infrastructure,
          },
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 300));
  }
}

function costOf(run: RunView, options: WatchOptions): { cost?: CostEstimate } {
  const cost = options.cost?.(run);
  return cost ? { cost } : {};
}
