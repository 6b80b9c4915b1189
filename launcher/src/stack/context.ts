import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StateFolder } from '../state/state-folder.js';
import { CLUSTER, readStack, coordinatorUrl, natsUrl, requireNatsAuth, requireStack, type StackFile } from '../state/stack-file.js';
import type { RunReader } from './history.js';
import { isAlive } from './processes.js';
import type { NatsAccess } from './nats.js';
import { CoordinatorClient } from './client.js';
import { requireApiToken } from '../state/api-token.js';
import { readRemoteStack, remoteCoordinatorUrl, remoteNatsUrl, type RemoteStack } from '../state/remote-stack.js';
import { ExitCode, KatapultError, type RunView } from '@katapult/core/light';

/** The repository root, which holds Dockerfile.agent and the agent bundle the agent image is built from. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface StackContext {
  state: StateFolder;
  stack: Pick<StackFile, 'cluster' | 'label'>;
  client: CoordinatorClient;
  nats: NatsAccess;
}

/** For commands that talk to a running stack (status, logs): the local one, or the remote maestro recorded here. */
export function stackContext(state = StateFolder.fromEnv()): StackContext {
  const remote = readRemoteStack(state);
  if (remote) return remoteStackContext(state, remote);
  const stack = requireStack(state);
  return {
    state,
    stack,
    client: new CoordinatorClient(coordinatorUrl(stack), requireApiToken(state)),
    nats: { url: natsUrl(stack), ...requireNatsAuth(state).admin },
  };
}

/** A maestro is reached over TLS, trusting the stack's own CA and checking the name its certificate bears. */
export function remoteStackContext(state: StateFolder, remote: RemoteStack): StackContext {
  const { admin } = requireNatsAuth(state);
  if (!admin.ca) {
    throw new KatapultError('KP_STACK_NO_CA', `the remote stack's CA certificate is missing (${state.tls.ca})`, {
      hint: 'katapult down CONFIG removes the maestro; launch again to make a new one',
      exitCode: ExitCode.infrastructure,
    });
  }
  return {
    state,
    stack: { cluster: remote.cluster, label: remote.label },
    client: new CoordinatorClient(remoteCoordinatorUrl(remote), requireApiToken(state), { ca: admin.ca, servername: remote.tlsName }),
    nats: { url: remoteNatsUrl(remote), ...admin, tlsName: remote.tlsName },
  };
}

/** What status, logs and fetch need: runs to read and NATS to read logs and outputs from. */
export interface ReadContext extends Omit<StackContext, 'client'> {
  client: RunReader;
  /** Stops what was started for this command (the history's nats-server); nothing for a running stack. */
  close(): Promise<void>;
}

/**
 * The running stack, or, after `down`, the history kept in the state folder, opened for this one command (and
 * said so on stderr, so stdout stays what scripts read).
 */
export async function readContext(say: (line: string) => void, state = StateFolder.fromEnv()): Promise<ReadContext> {
  try {
    return { ...stackContext(state), close: async () => undefined };
  } catch (error) {
    if (!(error instanceof KatapultError) || error.code !== 'KP_STACK_NOT_RUNNING' || !existsSync(state.natsJetstream)) throw error;
    // Its NATS up without a coordinator: a second nats-server must never open the same data.
    const stack = readStack(state);
    if (stack && isAlive(stack.nats.pid)) throw error;
  }
  // Loaded only then: it brings NATS's clients, which a status of a running stack does without.
  const history = await (await import('./history.js')).openHistory(state);
  say(`no stack is running: reading the runs kept in ${state.natsStore} (a nats-server started for this command, stopped after it)`);
  return { state, stack: { cluster: CLUSTER, label: state.label }, client: history.runs, nats: history.nats, close: () => history.close() };
}

/** The run named, or the latest one when none is. */
export async function findRun(client: RunReader, runId: string | undefined, withJob?: string): Promise<RunView> {
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
