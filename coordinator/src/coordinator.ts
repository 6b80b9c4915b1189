import type { NatsConnection } from '@nats-io/transport-node';
import type { ClusterNames, JobRecord, Log, Provider } from '@katapult/core';
import type { Store } from './store/store.js';
import type { NatsLink } from './nats-link.js';
import { PoolKeeper } from './pool-keeper.js';
import type { Dispatch } from './ports/dispatch.js';
import { natsDispatch } from './ports/nats-dispatch.js';
import { AgentRoster } from './loops/agent-roster.js';
import { JobEvents } from './loops/job-events.js';
import { AgentGrace, Liveness } from './loops/liveness.js';
import { ReportLoop } from './loops/reports.js';
import { RunProgress } from './loops/run-progress.js';
import { Scheduling } from './loops/scheduling.js';
import { StrayStops } from './loops/stray-stops.js';
import { GoneAgentSweep } from './loops/sweep.js';

export interface CoordinatorOptions {
  tickMs: number;
  /** How long an assigned job may go unclaimed by a live agent before it counts as lost. */
  lostGraceMs: number;
  log: Log;
  now?: () => number;
  /** Keeps each pool's instances while a run needs them, stops them after its auto_stop; shared with the RunService. */
  pools?: PoolKeeper;
  /** Without `pools`: the provider a keeper of this coordinator's own is made with. */
  provider?: Provider;
  /** Whether NATS is reachable, and since when; agents are only judged on heartbeats seen since then. */
  link?: NatsLink;
  /** How often the instances of running runs are checked. */
  instanceCheckMs?: number;
  /**
   * New work goes only to agents heard from this recently. An agent killed a moment ago keeps its record until
   * it expires (and it is declared lost); meanwhile it must not be given jobs, nor must the agents of a stack
   * brought down and up again.
   */
  freshAgentMs?: number;
  /** The key runs' secret values are sealed under in their records (the RunService's). */
  secretsKey?: Buffer;
  /** The NATS password of an agent with a user of its own: each attempt's secrets are sealed for its agent under it. */
  agentSecret?: (agentId: string) => string | undefined;
}

/**
 * The coordinator's loops, wired together and timed: reports from agents move jobs through their lifecycle
 * (loops/reports); placement passes, asked for whenever a job becomes pending or cpus are freed, put pending jobs
 * on their pools' agents (loops/scheduling); a periodic tick requeues the jobs of lost agents (loops/liveness),
 * stops stray attempts, settles dependencies and closes finished runs, keeps instances (PoolKeeper) and forgets
 * gone agents (loops/sweep). State is read and written through the Store; everything sent or heard goes through
 * a Dispatch: NATS over the connection given, or the Dispatch given in its place.
 */
export class Coordinator {
  private readonly tickMs: number;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private readonly store: Store;
  private readonly log: Log;
  private readonly pools: PoolKeeper | undefined;
  private readonly grace: AgentGrace;
  private readonly roster: AgentRoster;
  private readonly reports: ReportLoop;
  private readonly scheduling: Scheduling;
  private readonly liveness: Liveness;
  private readonly strays: StrayStops;
  private readonly progress: RunProgress;
  private readonly sweeper: GoneAgentSweep;

  constructor(nats: NatsConnection | Dispatch, names: ClusterNames, store: Store, options: CoordinatorOptions) {
    const now = options.now ?? Date.now;
    const log = options.log;
    const dispatch = isDispatch(nats) ? nats : natsDispatch(nats, names);
    this.store = store;
    this.log = log;
    this.pools =
      options.pools ??
      (options.provider
        ? new PoolKeeper(store, options.provider, {
            log,
            now,
            ...(options.instanceCheckMs ? { checkMs: options.instanceCheckMs } : {}),
          })
        : undefined);
    const events = new JobEvents(store, log, now, {
      freed: () => this.requestPlacement(),
      ended: (runId) => this.progress.jobEnded(runId),
    });
    this.grace = new AgentGrace(options.lostGraceMs, now, options.link);
    this.roster = new AgentRoster(store, now);
    this.scheduling = new Scheduling(store, this.roster, dispatch, events, {
      log,
      now,
      pools: this.pools,
      freshAgentMs: options.freshAgentMs,
      secrets: { runKey: options.secretsKey, agentSecret: options.agentSecret },
    });
    this.reports = new ReportLoop(names, dispatch, this.roster, events, log, this.scheduling);
    this.liveness = new Liveness(store, events, this.grace, { lostGraceMs: options.lostGraceMs, log, now, pools: this.pools });
    this.strays = new StrayStops(store, dispatch, log, now);
    this.progress = new RunProgress(store, events, log);
    this.sweeper = new GoneAgentSweep(names, dispatch, this.grace, log, now);
    this.tickMs = options.tickMs;
  }

  /** Why a pending job is not placed yet, as the last placement pass saw it. */
  waitingReason(job: JobRecord): string | undefined {
    return this.scheduling.waitingReason(job);
  }

  async start(): Promise<void> {
    this.grace.begin();
    await this.reports.start();
    this.timer = setInterval(() => void this.tick(), this.tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * One pass of liveness and run completion, and a placement pass. Skipped if the previous tick is still going.
   * Placement also runs on its own whenever a job becomes pending or cpus are freed (requestPlacement).
   */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      // What other writers stored (a second coordinator, a test) is in the view from here on.
      await this.store.sync();
      const allRuns = await this.store.listRuns();
      const runs = allRuns.filter((run) => run.state === 'running');
      const agents = await this.roster.read();
      await this.liveness.requeueLost(agents);
      await this.requestPlacement();
      await this.strays.stopStrays(agents);
      for (const run of runs) await this.progress.settleDependencies(run.id);
      for (const run of runs) await this.progress.closeIfFinished(run);
      this.pools?.manageAside(
        allRuns,
        agents.map((agent) => agent.pool),
      );
      await this.sweeper.sweep(agents);
    } catch (error) {
      this.log(`tick failed: ${String(error)}`, { level: 'error' });
    } finally {
      this.ticking = false;
    }
  }

  /** Places pending jobs on the next turn of the event loop (Scheduling.requestPlacement); resolves once the pass's commits settled. */
  requestPlacement(): Promise<void> {
    return this.scheduling.requestPlacement();
  }
}

function isDispatch(nats: NatsConnection | Dispatch): nats is Dispatch {
  return 'sendAssignment' in nats;
}
