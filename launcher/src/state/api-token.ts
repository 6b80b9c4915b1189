import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ExitCode, KatapultError } from '@katapult/core/light';
import type { StateFolder } from './state-folder.js';

/**
 * The coordinator's API token lives in <state>/api-token, readable by this user only (0600): whoever can read
 * it can drive the stack. It is made when a stack's coordinator first starts and removed by `down`, so each
 * stack has its own. It is handed to the coordinator by its environment, never on a command line or in a log.
 */
export function readApiToken(state: StateFolder): string | undefined {
  try {
    return readFileSync(state.apiTokenFile, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The stack's token, made now if it has none. */
export function ensureApiToken(state: StateFolder): string {
  const existing = readApiToken(state);
  if (existing) return existing;
  const token = randomBytes(32).toString('hex');
  try {
    // 'wx': if another katapult made one meanwhile, theirs is kept and used.
    writeFileSync(state.apiTokenFile, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return requireApiToken(state);
  }
}

export function requireApiToken(state: StateFolder): string {
  const token = readApiToken(state);
  if (token) return token;
  throw new KatapultError('KP_STACK_NO_TOKEN', `the stack has no API token (${state.apiTokenFile} is missing or empty)`, {
    hint: 'restart the stack: katapult down, then katapult launch <config>',
    exitCode: ExitCode.infrastructure,
  });
}

export function removeApiToken(state: StateFolder): void {
  rmSync(state.apiTokenFile, { force: true });
}
