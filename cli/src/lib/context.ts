import { fileURLToPath } from 'node:url';
import { stateDir } from './state-dir.js';
import { coordinatorUrl, natsUrl, requireNatsAuth, requireStack, type StackFile } from './stack-file.js';
import type { NatsAccess } from './nats.js';
import { CoordinatorClient } from './client.js';
import { requireApiToken } from './api-token.js';
import { readRemoteStack, remoteCoordinatorUrl, remoteNatsUrl, type RemoteStack } from './remote-stack.js';
import { ExitCode, KatapultError, type RunView } from '@katapult/core/light';

/** The repository root, which holds Dockerfile.agent and the agent bundle the agent image is built from. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface StackContext {
  dir: string;
  stack: Pick<StackFile, 'cluster' | 'label'>;
  client: CoordinatorClient;
  nats: NatsAccess;
}

/** For commands that talk to a running stack (status, logs): the local one, or the remote maestro recorded here. */
export function stackContext(dir = stateDir()): StackContext {
  const remote = readRemoteStack(dir);
  if (remote) return remoteStackContext(dir, remote);
  const stack = requireStack(dir);
  return { dir, stack, client: new CoordinatorClient(coordinatorUrl(stack), requireApiToken(dir)), nats: { url: natsUrl(stack), ...requireNatsAuth(dir).admin } };
}

/** A maestro is reached over TLS, trusting the stack's own CA and checking the name its certificate bears. */
export function remoteStackContext(dir: string, remote: RemoteStack): StackContext {
  const { admin } = requireNatsAuth(dir);
  if (!admin.ca) {
    throw new KatapultError('KP_STACK_NO_CA', `the remote stack's CA certificate is missing (${dir}/tls/ca.pem)`, {
      hint: 'katapult down CONFIG removes the maestro; launch again to make a new one',
      exitCode: ExitCode.infrastructure,
    });
  }
  return {
    dir,
    stack: { cluster: remote.cluster, label: remote.label },
    client: new CoordinatorClient(remoteCoordinatorUrl(remote), requireApiToken(dir), { ca: admin.ca, servername: remote.tlsName }),
    nats: { url: remoteNatsUrl(remote), ...admin, tlsName: remote.tlsName },
  };
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
