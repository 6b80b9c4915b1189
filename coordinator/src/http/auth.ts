import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ExitCode, KatapultError } from '@katapult/core';

/** Fewer characters than this is not a secret worth the name (the CLI makes 64 hex). */
const MIN_TOKEN_LENGTH = 32;

/** Routes that hold no data: the health probe, and the dashboard's page and assets (the page sends the token itself). */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/health', '/', '/dashboard/:asset']);

/**
 * A browser cannot give a WebSocket an Authorization header, so a WebSocket carries the token as one of its
 * subprotocols, `katapult.bearer.<token>`, next to `katapult.logs`, the one the server picks (never echoing the token).
 */
export const WS_PROTOCOL = 'katapult.logs';
export const WS_TOKEN_PROTOCOL_PREFIX = 'katapult.bearer.';

export function requireApiToken(token: string | undefined): string {
  if (!token || token.length < MIN_TOKEN_LENGTH) {
    throw new KatapultError(
      'KP_API_TOKEN_MISSING',
      `the coordinator's API needs a token of at least ${MIN_TOKEN_LENGTH} characters (KATAPULT_API_TOKEN)`,
      {
        exitCode: ExitCode.badInput,
      },
    );
  }
  return token;
}

/**
 * Whether an Authorization header carries the token. Both sides are hashed first so that the comparison is
 * constant-time whatever the length of what was sent.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const sent = /^Bearer (\S+)$/i.exec(header?.trim() ?? '')?.[1];
  return sent !== undefined && tokenMatches(sent, token);
}

/** Whether a request carries the token: in its Authorization header, or, for a WebSocket upgrade, as a subprotocol. */
export function requestCarriesToken(headers: IncomingHttpHeaders, token: string): boolean {
  if (bearerMatches(headers.authorization, token)) return true;
  if (headers.upgrade?.toLowerCase() !== 'websocket') return false;
  const offered = (headers['sec-websocket-protocol'] ?? '').split(',').map((protocol) => protocol.trim());
  const sent = offered.find((protocol) => protocol.startsWith(WS_TOKEN_PROTOCOL_PREFIX))?.slice(WS_TOKEN_PROTOCOL_PREFIX.length);
  return sent !== undefined && tokenMatches(sent, token);
}

function tokenMatches(sent: string, token: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(sent), digest(token));
}
