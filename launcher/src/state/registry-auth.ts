import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import type { RegistryAuth } from '@katapult/core/light';
import { htpasswdLine } from '@katapult/images';
import { writeFileAtomic } from './atomic-file.js';
import { readStateJson } from './state-json.js';
import type { StateFolder } from './state-folder.js';

/**
 * The local registry's users. `push` (the CLI's) may write, through the registry; `pull` (the coordinator
 * hands it to its agents) reaches only the read-only registry beside it, on the same storage: a job that sees
 * this machine's network (`network: host`) and even an agent's credentials cannot write an image.
 */
export type { RegistryAuth, RegistryUser } from '@katapult/core/light';

/** The registry's files in the state folder, 0600, removed by `down` (the images stay in `registry/`). */
export const registryFiles = (state: StateFolder) => state.registryFiles;

export function readRegistryAuth(state: StateFolder): RegistryAuth | undefined {
  return readStateJson(registryFiles(state).auth, 'registryAuth');
}

/** Made once per stack; the htpasswd files are written again when missing (their hashes come from the passwords). */
export function ensureRegistryAuth(state: StateFolder): RegistryAuth {
  const files = registryFiles(state);
  const auth = readRegistryAuth(state) ?? {
    push: { username: 'katapult-push', password: randomBytes(24).toString('hex') },
    pull: { username: 'katapult-pull', password: randomBytes(24).toString('hex') },
  };
  if (!existsSync(files.auth)) writeFileAtomic(files.auth, `${JSON.stringify(auth, null, 2)}\n`);
  if (!existsSync(files.pushHtpasswd)) writeFileAtomic(files.pushHtpasswd, `${htpasswdLine(auth.push.username, auth.push.password)}\n`);
  if (!existsSync(files.pullHtpasswd)) writeFileAtomic(files.pullHtpasswd, `${htpasswdLine(auth.pull.username, auth.pull.password)}\n`);
  return auth;
}

export function removeRegistryAuth(state: StateFolder): void {
  for (const file of Object.values(registryFiles(state))) rmSync(file, { force: true });
}
