import { createHash, timingSafeEqual } from 'node:crypto';
import { ExitCode, KatapultError } from '@katapult/core';

/** Fewer characters than this is not a secret worth the name (the CLI makes 64 hex). */
const MIN_TOKEN_LENGTH = 32;

export function requireApiToken(token: string | undefined): string {
  if (!token || token.length < MIN_TOKEN_LENGTH) {
    throw new KatapultError('KP_API_TOKEN_MISSING', `the coordinator's API needs a token of at least ${MIN_TOKEN_LENGTH} characters (KATAPULT_API_TOKEN)`, {
      exitCode: ExitCode.badInput,
    });
  }
  return token;
}

/**
 * Whether an Authorization header carries the token. Both sides are hashed first so that the comparison is
 * constant-time whatever the length of what was sent.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const sent = /^Bearer (\S+)$/i.exec(header?.trim() ?? '')?.[1];
  if (sent === undefined) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(sent), digest(token));
}
