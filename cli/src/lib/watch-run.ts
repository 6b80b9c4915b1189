import { isFinal, type RunView } from '@katapult/core';
import type { CoordinatorClient } from './client.js';
import { describeChanges } from '../render/run-view.js';

/** Polls the run until it is over, reporting each job's state changes as they happen. */
export async function watchRun(client: CoordinatorClient, runId: string, onLine: (line: string) => void, intervalMs = 300): Promise<RunView> {
  let previous: RunView | undefined;
  for (;;) {
    const run = await client.getRun(runId);
    for (const line of describeChanges(previous, run)) onLine(line);
    previous = run;
    if (run.state !== 'running' && run.jobs.every((job) => isFinal(job.state))) return run;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
