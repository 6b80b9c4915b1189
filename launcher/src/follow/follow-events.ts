import type { AgentView, CostEstimate, JobView, RunView } from '@katapult/core/light';

/** What following a run (watchRun) reports, for a front-end to show: the CLI renders it, @katapult/client makes lines of it. */
export type FollowEvent =
  /** A job's state or attempt changed (in a big run, only failures: the summary tells the rest). */
  | { type: 'job-changed'; job: JobView }
  /**
   * The counts of the run's jobs and of its instances, when nothing else was said for a while. `final`: the
   * last one, once the run is over, for a summary redrawn in place (WatchOptions.summaryInPlace).
   */
  | { type: 'summary'; run: RunView; agents: readonly AgentView[]; cost?: CostEstimate; final: boolean }
  /** The coordinator (or NATS behind it) does not answer; asked again for a while before giving up. */
  | { type: 'coordinator-unreachable'; reason: string };

export type OnFollowEvent = (event: FollowEvent) => void;
