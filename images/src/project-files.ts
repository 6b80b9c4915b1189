import { readFile, realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { checkRelativePath, ExitCode, KatapultError } from '@katapult/core';

export interface ProjectFile {
  /** The path as the config names it, relative to the project folder. */
  path: string;
  /** Where it really is, symlinks resolved (always inside the project folder). */
  realPath: string;
  size: number;
  executable: boolean;
}

/**
 * Finds a file a config names, relative to the project folder. A path that is absolute, climbs out with `..`,
 * or is a symlink to somewhere outside the folder is refused, as is a missing file or a folder: bad input, named.
 */
export async function resolveProjectFile(projectDir: string, path: string, what: string): Promise<ProjectFile> {
  const found = await findProjectFile(projectDir, path);
  if ('code' in found) throw new KatapultError(found.code, `${what}: ${found.message}`, { exitCode: ExitCode.badInput });
  return found;
}

export interface ProjectFileProblem {
  code: 'KP_FILE_OUTSIDE_PROJECT' | 'KP_FILE_MISSING' | 'KP_FILE_NOT_A_FILE';
  message: string;
}

/** The file, or what is wrong with it (for validate, which reports every problem at once). */
export async function findProjectFile(projectDir: string, path: string): Promise<ProjectFile | ProjectFileProblem> {
  const problem = checkRelativePath(path);
  if (problem) return { code: 'KP_FILE_OUTSIDE_PROJECT', message: problem };
  const root = await realpath(projectDir);
  let real: string;
  try {
    real = await realpath(resolve(root, path));
  } catch {
    return { code: 'KP_FILE_MISSING', message: `"${path}" does not exist in ${projectDir}` };
  }
  if (real !== root && !real.startsWith(root + sep))
    return { code: 'KP_FILE_OUTSIDE_PROJECT', message: `"${path}" links outside the project folder` };
  const info = await stat(real);
  if (!info.isFile()) return { code: 'KP_FILE_NOT_A_FILE', message: `"${path}" is a folder, not a file; list the files it holds` };
  return { path, realPath: real, size: info.size, executable: (info.mode & 0o111) !== 0 };
}

/** Reads the files a config names (see resolveProjectFile for what is refused). */
export async function readProjectFiles(projectDir: string, paths: readonly string[], what: string): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  for (const path of paths) files[path] = await readFile((await resolveProjectFile(projectDir, path, what)).realPath);
  return files;
}
