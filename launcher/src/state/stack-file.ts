import { readFileSync, rmSync } from 'node:fs';
import { ExitCode, KatapultError, type StackFile } from '@katapult/core/light';
import { isAlive } from '../stack/processes.js';
import { readNatsAuth, type NatsAuth } from './nats-auth.js';
import { writeFileAtomic } from './atomic-file.js';
import { readStateJson } from './state-json.js';
import { requireDiskSpace } from './disk-space.js';
import type { StateFolder } from './state-folder.js';

/**
 * <state>/stack.json: where the local stack's servers run, as later commands (status, logs, down) read it (its
 * schema: core's StackFileSchema). Kept apart from starting them (local-stack.ts), which needs NATS's and the image
 * builder's libraries: a command that only reads it starts without loading those.
 */
export type { NatsRecord, ServerRecord, StackFile } from '@katapult/core/light';

/** Instances on a network (EC2) dial this machine's NATS at `address` (maestro_address). */
export interface StackExposure {
  address: string;
}

export const CLUSTER = 'local';

/** The admin credentials of the stack's NATS, for the CLI's own connections. */
export function requireNatsAuth(state: StateFolder): NatsAuth {
  const auth = readNatsAuth(state);
  if (auth) return auth;
  throw new KatapultError('KP_STACK_NO_NATS_CREDENTIALS', `the stack has no NATS credentials (${state.natsFiles.auth} is missing)`, {
    hint: 'restart the stack: katapult down, then katapult launch <config>',
    exitCode: ExitCode.infrastructure,
  });
}

export function natsUrl(stack: StackFile): string {
  return `nats://127.0.0.1:${stack.nats.port}`;
}
export function registryHost(stack: StackFile): string {
  return `127.0.0.1:${stack.registry.port}`;
}
/** Where agents pull the environment images from: the read-only registry. */
export function registryPullHost(stack: StackFile): string {
  return `127.0.0.1:${(stack.registryPull ?? stack.registry).port}`;
}
export function coordinatorUrl(stack: StackFile): string {
  if (!stack.coordinator) throw notRunning();
  return `http://127.0.0.1:${stack.coordinator.port}`;
}

export function readStack(state: StateFolder): StackFile | undefined {
  const stack = readStateJson(state.stackFile, 'stack');
  if (!stack) return undefined;
  // The coordinator restarts a wedged nats-server (nats-watchdog.ts): its pid file then names the live one.
  const pid = natsPidFromFile(state);
  return pid !== undefined && pid !== stack.nats.pid && !isAlive(stack.nats.pid) && isAlive(pid)
    ? { ...stack, nats: { ...stack.nats, pid } }
    : stack;
}

function natsPidFromFile(state: StateFolder): number | undefined {
  try {
    const pid = Number(readFileSync(state.natsFiles.pid, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The stack as later commands need it: running, or a clear error saying how to start it. */
export function requireStack(state: StateFolder): StackFile {
  requireDiskSpace(state);
  const stack = readStack(state);
  if (!stack || !isAlive(stack.nats.pid) || !stack.coordinator || !isAlive(stack.coordinator.pid)) throw notRunning();
  return stack;
}

function notRunning(): KatapultError {
  return new KatapultError('KP_STACK_NOT_RUNNING', 'no Katapult stack is running here', {
    hint: 'start one with: katapult launch <config>',
    exitCode: ExitCode.infrastructure,
  });
}

export function writeStack(state: StateFolder, stack: StackFile): void {
  writeFileAtomic(state.stackFile, `${JSON.stringify(stack, null, 2)}\n`);
}

export function removeStack(state: StateFolder): void {
  rmSync(state.stackFile, { force: true });
}
