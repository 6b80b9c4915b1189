import { createHash } from 'node:crypto';
import type { StackPorts } from '@katapult/core/light';
import { writeFileAtomic } from './atomic-file.js';
import { readStateJson } from './state-json.js';
import type { StateFolder } from './state-folder.js';

/**
 * <state>/ports.json: the ports a state folder's servers listened on, kept across `down`. The registry's port is
 * in every image tag agents pull (`127.0.0.1:<port>/katapult/env:…`), so a stack that starts on the same port
 * reuses those local copies instead of leaving a set of tags behind per start. Every registry port it ever had
 * is kept too, so `down --images` can remove the tags of this stack, and of no other.
 */
export type { StackPorts } from '@katapult/core/light';

export type PortName = 'nats' | 'registry' | 'registryPull';

export function readPorts(state: StateFolder): StackPorts {
  return readStateJson(state.portsFile, 'ports') ?? {};
}

/** Below Linux's ephemeral range (32768-60999), so a port picked for a server is not one the kernel hands out. */
const STABLE_RANGE = { from: 20_000, size: 10_000 } as const;

/** The port a server of this state folder prefers: the one it had, else one derived from the folder's path. */
export function preferredPort(state: StateFolder, name: PortName, ports = readPorts(state)): number {
  const kept = ports[name];
  if (kept !== undefined) return kept;
  const hash = createHash('sha256').update(`${state.root}\0${name}`).digest().readUInt32BE(0);
  return STABLE_RANGE.from + (hash % STABLE_RANGE.size);
}

export function recordPort(state: StateFolder, name: PortName, port: number): void {
  const ports = readPorts(state);
  const next: StackPorts = { ...ports, [name]: port };
  if (name !== 'nats') next.registryHistory = [...new Set([...(ports.registryHistory ?? []), port])];
  writeFileAtomic(state.portsFile, `${JSON.stringify(next, null, 2)}\n`);
}
