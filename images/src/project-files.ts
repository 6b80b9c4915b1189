import { readFile, realpath } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { checkRelativePath, ExitCode, KatapultError } from '@katapult/core';

/**
 * Reads files a config names, relative to the project folder. A path that is absolute, climbs out with `..`,
 * or is a symlink to somewhere outside the folder is refused, as is a missing file: bad input, named.
 */
export async function readProjectFiles(projectDir: string, paths: readonly string[], what: string): Promise<Record<string, Buffer>> {
  const root = await realpath(projectDir);
  const files: Record<string, Buffer> = {};
  for (const path of paths) {
    const problem = checkRelativePath(path);
    if (problem) throw new KatapultError('KP_FILE_OUTSIDE_PROJECT', `${what}: ${problem}`, { exitCode: ExitCode.badInput });
    let real: string;
    try {
      real = await realpath(resolve(root, path));
    } catch {
      throw new KatapultError('KP_FILE_MISSING', `${what}: "${path}" does not exist in ${projectDir}`, { exitCode: ExitCode.badInput });
    }
    if (real !== root && !real.startsWith(root + sep)) {
      throw new KatapultError('KP_FILE_OUTSIDE_PROJECT', `${what}: "${path}" links outside the project folder`, { exitCode: ExitCode.badInput });
    }
    files[path] = await readFile(real);
  }
  return files;
}
