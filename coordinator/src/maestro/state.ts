import { readFileSync } from 'node:fs';
import { ExitCode, IssuedAgentsSchema, KatapultError, NatsAuthFileSchema, readBack, type NatsUser } from '@katapult/core';
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

// Checked against the schemas of the local stack's files (core/checks/state-files.ts), which these are.
const natsAuthFile = readBack(NatsAuthFileSchema, 'KP_MAESTRO_STATE');
const issuedAgents = readBack(IssuedAgentsSchema, 'KP_MAESTRO_STATE');

/** The admin's NATS credentials from nats-auth.json, as the local stack writes them. */
export function parseNatsAuth(text: string, file: string): NatsUser {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw stateError(`${file} is not JSON`);
  }
  const problem = natsAuthFile.problem(parsed);
  if (problem !== undefined) throw stateError(`${file} has no admin user and password ({"admin":{"user":"…","pass":"…"}}): ${problem}`);
  const { admin } = natsAuthFile(parsed, file);
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
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw stateError(`${file} is not a JSON object of agent users: not JSON`);
  }
  const problem = issuedAgents.problem(parsed);
  if (problem !== undefined) throw stateError(`${file} is not a JSON object of agent users: ${problem}`);
  return issuedAgents(parsed, file);
}
