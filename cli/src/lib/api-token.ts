import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, KatapultError } from '@katapult/core/light';

/**
 * The coordinator's API token lives in <state>/api-token, readable by this user only (0600): whoever can read
 * it can drive the stack. It is made when a stack's coordinator first starts and removed by `down`, so each
 * stack has its own. It is handed to the coordinator by its environment, never on a command line or in a log.
 */
const tokenPath = (dir: string) => join(dir, 'api-token');

export function readApiToken(dir: string): string | undefined {
  try {
    return readFileSync(tokenPath(dir), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The stack's token, made now if it has none. */
export function ensureApiToken(dir: string): string {
  const existing = readApiToken(dir);
  if (existing) return existing;
  const token = randomBytes(32).toString('hex');
  try {
    // 'wx': if another katapult made one meanwhile, theirs is kept and used.
    writeFileSync(tokenPath(dir), `${token}\n`, { mode: 0o600, flag: 'wx' });
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return requireApiToken(dir);
  }
}

export function requireApiToken(dir: string): string {
  const token = readApiToken(dir);
  if (token) return token;
  throw new KatapultError('KP_STACK_NO_TOKEN', `the stack has no API token (${tokenPath(dir)} is missing or empty)`, {
    hint: 'restart the stack: katapult down, then katapult launch <config>',
    exitCode: ExitCode.infrastructure,
  });
}

export function removeApiToken(dir: string): void {
  rmSync(tokenPath(dir), { force: true });
}
