import { fileURLToPath } from 'node:url';
import { stateDir } from './state-dir.js';
import { coordinatorUrl, natsUrl, requireNatsAuth, requireStack, type StackFile } from './local-stack.js';
import type { NatsAccess } from './nats.js';
import { CoordinatorClient } from './client.js';
import { requireApiToken } from './api-token.js';
import { ExitCode, KatapultError, type RunView } from '@katapult/core';

/** The repository root, which holds Dockerfile.agent and the agent bundle the agent image is built from. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface StackContext {
  dir: string;
  stack: StackFile;
  client: CoordinatorClient;
  nats: NatsAccess;
}

/** For commands that talk to a running stack (status, logs). */
export function stackContext(dir = stateDir()): StackContext {
  const stack = requireStack(dir);
  return { dir, stack, client: new CoordinatorClient(coordinatorUrl(stack), requireApiToken(dir)), nats: { url: natsUrl(stack), ...requireNatsAuth(dir).admin } };
}

/** The run named, or the latest one when none is. */
export async function findRun(client: CoordinatorClient, runId: string | undefined, withJob?: string): Promise<RunView> {
  if (runId) return client.getRun(runId);
  const runs = (await client.listRuns()).filter((run) => !withJob || run.jobs.some((job) => job.id === withJob));
  const latest = runs.at(-1);
  if (!latest) {
    throw new KatapultError('KP_RUN_NOT_FOUND', withJob ? `no run has a job named "${withJob}"` : 'no run yet', {
      exitCode: ExitCode.badInput,
      hint: 'katapult status lists the runs',
    });
  }
  return latest;
}
