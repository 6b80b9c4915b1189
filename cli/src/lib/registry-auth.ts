import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { htpasswdLine } from '@katapult/images';
import { writeFileAtomic } from './atomic-file.js';

export interface RegistryUser {
  username: string;
  password: string;
}

/**
 * The local registry's users. `push` (the CLI's) may write, through the registry; `pull` (the coordinator
 * hands it to its agents) reaches only the read-only registry beside it, on the same storage: a job that sees
 * this machine's network (`network: host`) and even an agent's credentials cannot write an image.
 */
export interface RegistryAuth {
  push: RegistryUser;
  pull: RegistryUser;
}

/** The registry's files in the state folder, 0600, removed by `down` (the images stay in `registry/`). */
export const registryFiles = (dir: string) => ({
  auth: join(dir, 'registry-auth.json'),
  pushHtpasswd: join(dir, 'registry-push.htpasswd'),
  pullHtpasswd: join(dir, 'registry-pull.htpasswd'),
  config: join(dir, 'registry.yml'),
  pullConfig: join(dir, 'registry-pull.yml'),
});

export function readRegistryAuth(dir: string): RegistryAuth | undefined {
  try {
    return JSON.parse(readFileSync(registryFiles(dir).auth, 'utf8')) as RegistryAuth;
  } catch {
    return undefined;
  }
}

/** Made once per stack; the htpasswd files are written again when missing (their hashes come from the passwords). */
export function ensureRegistryAuth(dir: string): RegistryAuth {
  const files = registryFiles(dir);
  const auth = readRegistryAuth(dir) ?? {
    push: { username: 'katapult-push', password: randomBytes(24).toString('hex') },
    pull: { username: 'katapult-pull', password: randomBytes(24).toString('hex') },
  };
  if (!existsSync(files.auth)) writeFileAtomic(files.auth, `${JSON.stringify(auth, null, 2)}\n`);
  if (!existsSync(files.pushHtpasswd)) writeFileAtomic(files.pushHtpasswd, `${htpasswdLine(auth.push.username, auth.push.password)}\n`);
  if (!existsSync(files.pullHtpasswd)) writeFileAtomic(files.pullHtpasswd, `${htpasswdLine(auth.pull.username, auth.pull.password)}\n`);
  return auth;
}

export function removeRegistryAuth(dir: string): void {
  for (const file of Object.values(registryFiles(dir))) rmSync(file, { force: true });
}
