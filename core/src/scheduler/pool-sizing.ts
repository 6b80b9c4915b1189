import type { RunState } from '../lifecycle/job.js';
import { poolsOf, type Pool } from '../model/pools.js';
import type { InstanceSpec, ProviderName } from '../model/run-spec.js';

/** What sizing needs to know of a stored run. */
export interface SizingRun {
  id: string;
  project: string;
  provider: ProviderName;
  instances: readonly InstanceSpec[];
  state: RunState;
  createdAt: number;
  finishedAt: number | null;
  autoStopSeconds: number | null;
}

export interface PoolSizing {
  /** Pools some running run needs, at the largest `number` any of them asks for; `runId` is the latest such run. */
  keep: { pool: Pool; runId: string }[];
  /** Pools no running run needs whose `auto_stop` has passed since the last run needing them ended. */
  stop: { pool: Pool; runId: string; idleSince: number }[];
}

/**
 * Which pools to keep up and which to stop, from the runs alone. A pool's idle time starts when the last run
 * that used it ended, and its `auto_stop` is that run's; `stoppedAt` says, for pools already stopped, the idle
 * start they were stopped for, so each idle period stops a pool once.
 */
export function planPoolSizes(runs: readonly SizingRun[], now: number, stoppedAt: ReadonlyMap<string, number>): PoolSizing {
  const ordered = [...runs].sort((a, b) => a.createdAt - b.createdAt);
  const keep = new Map<string, { pool: Pool; runId: string }>();
  for (const run of ordered) {
    if (run.state !== 'running') continue;
    for (const pool of poolsOf(run)) {
      const known = keep.get(pool.id);
      const number = Math.max(pool.spec.number, known?.pool.spec.number ?? 0);
      keep.set(pool.id, { pool: { ...pool, spec: { ...pool.spec, number } }, runId: run.id });
    }
  }
  const lastUse = new Map<string, { pool: Pool; run: SizingRun; idleSince: number }>();
  for (const run of ordered) {
    if (run.state === 'running' || run.finishedAt === null) continue;
    for (const pool of poolsOf(run)) {
      if (keep.has(pool.id)) continue;
      const known = lastUse.get(pool.id);
      if (!known || run.finishedAt >= known.idleSince) lastUse.set(pool.id, { pool, run, idleSince: run.finishedAt });
    }
  }
  const stop: PoolSizing['stop'] = [];
  for (const { pool, run, idleSince } of lastUse.values()) {
    if (run.autoStopSeconds === null || stoppedAt.get(pool.id) === idleSince) continue;
    if (now - idleSince >= run.autoStopSeconds * 1000) stop.push({ pool, runId: run.id, idleSince });
  }
  return { keep: [...keep.values()], stop };
}
