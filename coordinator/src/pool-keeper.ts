import { KatapultError, accruedCost, isFinal, maxCostLine, planPoolSizes, poolsOf, type Pool, type Provider } from '@katapult/core';
import { applyStoredJobEvent } from './store/apply-event.js';
import { ensureContextOf } from './providers/ensure-context.js';
import type { RunRecord, Store } from './store/store.js';
import { poolIdsOf, sizingRun } from '@katapult/core';

export { poolIdsOf };

/** How long agents of a stopped pool are kept from new work: past their heartbeat records' expiry. */
const RETIRED_FOR_MS = 120_000;

export interface PoolKeeperOptions {
  log?: (line: string) => void;
  now?: () => number;
  /** How often the pools of running runs are checked (a dead instance replaced). */
  checkMs?: number;
  /** How often instances of no stored run's pool are looked for (Provider.terminateOrphans). Default 60 s. */
  orphanCheckMs?: number;
  /** How often running runs with a `max_cost` have their instances' cost so far checked. Default 10 s. */
  costCheckMs?: number;
}

/**
 * Keeps each pool at its size while a running run needs it, and stops a pool once no running run needs it and
 * its `auto_stop` has passed (planPoolSizes). Stopping and storing a new run never interleave: both go through
 * one queue, and the decision to stop is taken again inside it from the runs as stored then. So a pool a run
 * being submitted needs is not stopped, and a pool stopped just before a submission is started again by it; the
 * stopped agents get no new work, whatever their heartbeat records still say.
 */
export class PoolKeeper {
  private queue: Promise<unknown> = Promise.resolve();
  /** For each pool stopped, the idle start it was stopped for, so an idle period stops a pool once. */
  private readonly stoppedAt = new Map<string, number>();
  /** Pools being stopped now. */
  private readonly stopping = new Set<string>();
  /** Agents of stopped pools, and when they were stopped. */
  private readonly retired = new Map<string, number>();
  /** Pools that may have instances: ensured by this process, or with an agent heard from. Only these are stopped. */
  private readonly known = new Set<string>();
  private checkedAt = Number.NEGATIVE_INFINITY;
  private orphansCheckedAt = Number.NEGATIVE_INFINITY;
  private costsCheckedAt = Number.NEGATIVE_INFINITY;
  private managing: Promise<void> | undefined;
  private lastError: string | undefined;
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    private readonly provider: Provider,
    private readonly options: PoolKeeperOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Stores a run (the work given) with no pool stopped meanwhile; then starts what its pools lack. */
  async submit<T>(run: RunRecord, store: () => Promise<T>): Promise<T> {
    const stored = await this.serialized(store);
    await this.ensure([run]);
    return stored;
  }

  /** Starts what the pools of these runs lack, each at the largest `number` asked for. */
  async ensure(runs: readonly RunRecord[]): Promise<void> {
    const going = runs.filter((run) => !run.stopReason);
    const plan = planPoolSizes(
      going.map((run) => sizingRun({ ...run, state: 'running' })),
      this.now(),
      this.stoppedAt,
    );
    await this.ensurePlanned(plan.keep, going);
  }

  /** Makes sure an agent taken for lost runs nothing any more (Provider.fence), before its jobs are requeued. */
  async fence(agentId: string, run: RunRecord): Promise<void> {
    await this.provider.fence?.(agentId, run.instances, ensureContextOf(run));
    this.retired.set(agentId, this.now());
  }

  /** The provider's word on the last launch for this pool (which type it took, which it could not). */
  launchNote(pool: string): string | undefined {
    return this.provider.launchNote?.(pool);
  }

  /** Whether an agent may be given new work: its pool is not being stopped, and it was not stopped. */
  accepts(agent: { agentId: string; pool?: string | undefined }): boolean {
    return !this.retired.has(agent.agentId) && !(agent.pool !== undefined && this.stopping.has(agent.pool));
  }

  /** One pass beside the coordinator's tick: one at a time, a failure logged when it differs from the last one. */
  manageAside(runs: readonly RunRecord[], agentPools: readonly (string | undefined)[]): void {
    if (this.managing) return;
    this.managing = this.manage(runs, agentPools)
      .then(() => {
        this.lastError = undefined;
      })
      .catch((error: unknown) => {
        const line = error instanceof KatapultError ? error.toLine() : String(error);
        if (line !== this.lastError) this.options.log?.(`instances: ${line}`);
        this.lastError = line;
      })
      .finally(() => {
        this.managing = undefined;
      });
  }

  private async manage(runs: readonly RunRecord[], agentPools: readonly (string | undefined)[]): Promise<void> {
    const now = this.now();
    for (const [agentId, at] of this.retired) if (now - at > RETIRED_FOR_MS) this.retired.delete(agentId);
    for (const pool of agentPools) if (pool) this.known.add(pool);
    const plan = planPoolSizes(runs.map(sizingRun), now, this.stoppedAt);
    // A run the coordinator stopped (max_cost) keeps nothing up, though its jobs' ends may not be stored as its end yet.
    const stopped = new Set(runs.filter((run) => run.stopReason).map((run) => run.id));
    const keep = plan.keep.filter(({ runId }) => !stopped.has(runId));
    if (keep.length > 0 && now - this.checkedAt >= (this.options.checkMs ?? 5_000)) {
      this.checkedAt = now;
      await this.ensurePlanned(keep, runs);
    }
    if (plan.stop.some(({ pool }) => this.known.has(pool.id))) await this.serialized(() => this.stopIdle());
    if (this.provider.terminateOrphans && now - this.orphansCheckedAt >= (this.options.orphanCheckMs ?? 60_000)) {
      this.orphansCheckedAt = now;
      await this.serialized(() => this.terminateOrphans());
    }
    const capped = runs.filter((run) => run.state === 'running' && run.maxCost);
    if (this.provider.instanceCosts && capped.length > 0 && now - this.costsCheckedAt >= (this.options.costCheckMs ?? 10_000)) {
      this.costsCheckedAt = now;
      for (const run of capped) await this.stopIfOverBudget(run);
    }
  }

  /**
   * `max_cost`: once the run's instances (those of its pools) have cost that much since it was created, the run is
   * stopped: the reason stored in its record first, then every unfinished job aborted with it (the coordinator's
   * tick stops their containers), then its pools that no other running run needs are stopped at once, whatever
   * their auto_stop: a cap that left instances billed until auto_stop (or forever, with auto_stop: false) would
   * not be one.
   */
  private async stopIfOverBudget(run: RunRecord): Promise<void> {
    // Stopped already (and not closed yet): its jobs and pools are stopped again, which changes nothing once done.
    const line = run.stopReason ?? maxCostLine(accruedCost(await this.pricedInstances(run), run.createdAt, this.now()), run.maxCost);
    if (!line) return;
    const stored = await this.store.getRun(run.id);
    if (!stored || stored.state !== 'running') return;
    if (!stored.stopReason) {
      await this.store.putRun({ ...stored, stopReason: line });
      this.options.log?.(`max_cost: run ${run.id}: ${line}`);
    }
    for (const { value: job } of await this.store.listJobs(run.id)) {
      if (!isFinal(job.state))
        await applyStoredJobEvent(this.store, run.id, job.id, { type: 'cancel', message: stored.stopReason ?? line }, this.now());
    }
    await this.serialized(async () => {
      const others = (await this.store.listRuns()).filter((other) => other.id !== run.id && other.state === 'running');
      const needed = new Set(others.flatMap((other) => poolIdsOf(other)));
      for (const pool of poolsOf(sizingRun(stored))) {
        if (needed.has(pool.id)) continue;
        this.stopping.add(pool.id);
        try {
          const stopped = await this.provider.stopPool(pool, ensureContextOf(stored));
          for (const agentId of stopped) this.retired.set(agentId, this.now());
          this.known.delete(pool.id);
          if (stopped.length > 0) this.options.log?.(`max_cost: pool ${pool.id} of run ${run.id} stopped: ${stopped.join(', ')}`);
        } finally {
          this.stopping.delete(pool.id);
        }
      }
    });
  }

  private pricedInstances(run: RunRecord) {
    return this.provider.instanceCosts!(new Set(poolIdsOf(run))).catch((error: unknown) => {
      const why = error instanceof KatapultError ? error.toLine() : error instanceof Error ? error.message : String(error);
      throw new KatapultError('KP_COST_UNAVAILABLE', `max_cost of run ${run.id} cannot be checked: ${why}`, {
        hint: 'the coordinator goes on trying; katapult cancel stops the run',
      });
    });
  }

  /** Decided from every run as stored now (ended ones too: their pools wait for auto_stop, not for this). */
  private async terminateOrphans(): Promise<void> {
    const runs = await this.store.listRuns();
    const pools = new Set(runs.flatMap((run) => poolsOf(sizingRun(run)).map((pool) => pool.id)));
    await this.provider.terminateOrphans?.(pools);
  }

  /** Decided again from the runs as stored now: a run stored since the first look may need the pool. */
  private async stopIdle(): Promise<void> {
    const runs = await this.store.listRuns();
    const byId = new Map(runs.map((run) => [run.id, run]));
    for (const { pool, runId, idleSince } of planPoolSizes(runs.map(sizingRun), this.now(), this.stoppedAt).stop) {
      if (!this.known.has(pool.id)) continue;
      this.stopping.add(pool.id);
      try {
        const stopped = await this.provider.stopPool(pool, ensureContextOf(byId.get(runId)!));
        for (const agentId of stopped) this.retired.set(agentId, this.now());
        this.stoppedAt.set(pool.id, idleSince);
        this.known.delete(pool.id);
        const seconds = byId.get(runId)!.autoStopSeconds;
        if (stopped.length > 0) this.options.log?.(`auto_stop: pool ${pool.id} had no work for ${seconds}s; stopped ${stopped.join(', ')}`);
      } finally {
        this.stopping.delete(pool.id);
      }
    }
  }

  private async ensurePlanned(keep: readonly { pool: Pool; runId: string }[], runs: readonly RunRecord[]): Promise<void> {
    const byRun = new Map<string, Pool[]>();
    for (const { pool, runId } of keep) byRun.set(runId, [...(byRun.get(runId) ?? []), pool]);
    for (const [runId, pools] of byRun) {
      const run = runs.find((candidate) => candidate.id === runId)!;
      for (const pool of pools) this.known.add(pool.id);
      await this.provider.ensure(
        pools.map((pool) => pool.spec),
        ensureContextOf(run),
      );
    }
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
