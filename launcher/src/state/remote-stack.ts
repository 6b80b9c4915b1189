import { rmSync } from 'node:fs';
import type { RemoteStack } from '@katapult/core/light';
import { removeApiToken } from './api-token.js';
import { removeNatsAuth } from './nats-auth.js';
import { writeFileAtomic } from './atomic-file.js';
import { readStateJson } from './state-json.js';
import type { StateFolder } from './state-folder.js';

/**
 * A stack whose NATS and coordinator run on a maestro instance (`maestro: remote`), not on this machine. Its
 * secrets are the local stack's files (nats-auth.json, api-token, tls/) in the same state folder; this record
 * (core's RemoteStackSchema) says where the maestro is. A state folder holds one stack, local or remote.
 */
export type { RemoteStack } from '@katapult/core/light';

export function readRemoteStack(state: StateFolder): RemoteStack | undefined {
  return readStateJson(state.remoteFile, 'remoteStack');
}

export function writeRemoteStack(state: StateFolder, stack: RemoteStack): void {
  writeFileAtomic(state.remoteFile, `${JSON.stringify(stack, null, 2)}\n`);
}

/** Once its maestro is terminated: the record and the stack's secrets (CA, NATS admin, API token) go. */
export function forgetRemoteStack(state: StateFolder): void {
  rmSync(state.remoteFile, { force: true });
  removeApiToken(state);
  removeNatsAuth(state);
}

export const remoteCoordinatorUrl = (stack: RemoteStack) => `https://${stack.publicIp}:${stack.httpPort}`;
export const remoteNatsUrl = (stack: RemoteStack) => `tls://${stack.publicIp}:${stack.natsPort}`;

/** The certificate name of a project's maestro: any fixed name works, as clients check it, not the IP. */
export const maestroTlsName = (project: string) => `maestro.${project}.katapult`;
