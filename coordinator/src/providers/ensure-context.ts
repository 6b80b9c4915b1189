import type { EnsureContext, RunPlacement } from '@katapult/core';

/** What `ensure` is told of a stored run: its owner, its placement when it was kept, and its hourly cost cap. */
export function ensureContextOf(run: {
  id: string;
  project: string;
  placement?: RunPlacement | undefined;
  maxHourlyCost?: number | null | undefined;
}): EnsureContext {
  return {
    project: run.project,
    runId: run.id,
    ...(run.placement ? { placement: run.placement } : {}),
    ...(run.maxHourlyCost ? { maxHourlyCost: run.maxHourlyCost } : {}),
  };
}
