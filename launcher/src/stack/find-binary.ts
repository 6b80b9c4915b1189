import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

// Debian installs servers (nats-server, debootstrap) into sbin folders, often not on a user's PATH.
export const SBIN_FOLDERS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The path of an executable named `name` on PATH or in the sbin folders, or undefined. */
export function findBinary(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  extraFolders: readonly string[] = SBIN_FOLDERS,
): string | undefined {
  const folders = [...(env['PATH'] ?? '').split(delimiter).filter(Boolean), ...extraFolders];
  return folders.map((folder) => join(folder, name)).find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
