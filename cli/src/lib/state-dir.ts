import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';

/** Where a local stack keeps its servers' data, logs and pids: $KATAPULT_HOME, or ~/.katapult. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env['KATAPULT_HOME'] ?? join(homedir(), '.katapult'));
}

/** A short id of the state folder, put on every container the stack starts so `down` finds them all. */
export function stackLabel(dir: string): string {
  return `kp${createHash('sha256').update(dir).digest('hex').slice(0, 8)}`;
}
