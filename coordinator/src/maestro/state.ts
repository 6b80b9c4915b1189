import { readFileSync } from 'node:fs';
import { ExitCode, KatapultError, type NatsUser } from '@katapult/core';
import type { MaestroFiles } from './settings.js';

/** What the boot script left in the state folder for this container. */
export interface MaestroState {
  admin: NatsUser;
  apiToken: string;
  ca: string;
  cert: string;
  key: string;
}

const stateError = (message: string) =>
  new KatapultError('KP_MAESTRO_STATE', message, {
    hint: "the maestro's boot script writes it before starting this container",
    exitCode: ExitCode.infrastructure,
  });

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw stateError(`${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** The admin's NATS credentials from nats-auth.json, as the local stack writes them. */
export function parseNatsAuth(text: string, file: string): NatsUser {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw stateError(`${file} is not JSON`);
  }
  const admin = (parsed as { admin?: { user?: unknown; pass?: unknown } } | null)?.admin;
  if (typeof admin?.user !== 'string' || typeof admin.pass !== 'string' || !admin.user || !admin.pass) {
    throw stateError(`${file} has no admin user and password ({"admin":{"user":"…","pass":"…"}})`);
  }
  return { user: admin.user, pass: admin.pass };
}

export function readMaestroState(files: MaestroFiles): MaestroState {
  const apiToken = read(files.apiToken).trim();
  if (!apiToken) throw stateError(`${files.apiToken} is empty`);
  return {
    admin: parseNatsAuth(read(files.auth), files.auth),
    apiToken,
    ca: read(files.ca),
    cert: read(files.cert),
    key: read(files.key),
  };
}

/** The agents' NATS users issued so far (NatsUsersFile's record), so they survive a restart of the container. */
export function readIssuedAgents(file: string): Record<string, NatsUser> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    const agents: Record<string, NatsUser> = {};
    for (const [agentId, value] of Object.entries(parsed)) {
      const { user, pass } = (value ?? {}) as { user?: unknown; pass?: unknown };
      if (typeof user === 'string' && typeof pass === 'string') agents[agentId] = { user, pass };
    }
    return agents;
  } catch {
    throw stateError(`${file} is not a JSON object of agent users`);
  }
}
