import { existsSync, statfsSync } from 'node:fs';
import { DEFAULT_MIN_FREE_BYTES, ExitCode, KatapultError, lowDiskMessage, tightestFolder, type FolderSpace } from '@katapult/core/light';
import type { StateFolder } from './state-folder.js';

/** KATAPULT_MIN_FREE_BYTES overrides the free space the stack needs (tests on a small tmpfs). */
export function minFreeBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = Number(env['KATAPULT_MIN_FREE_BYTES']);
  return Number.isInteger(raw) && raw >= 0 && env['KATAPULT_MIN_FREE_BYTES'] !== '' ? raw : DEFAULT_MIN_FREE_BYTES;
}

/** The state folder and the stores under it (any of which may be its own disk), with their free space. */
export function stateFolderSpace(state: StateFolder): FolderSpace | undefined {
  const folders = [state.root, state.natsStore, state.registryStore].filter((folder) => existsSync(folder));
  return tightestFolder(
    folders.map((folder) => {
      const stats = statfsSync(folder);
      return { folder, freeBytes: stats.bavail * stats.bsize };
    }),
  );
}

/** Refuses, in one line, to use a stack whose state folder has too little space left for JetStream to write. */
export function requireDiskSpace(state: StateFolder, env: NodeJS.ProcessEnv = process.env): void {
  const space = stateFolderSpace(state);
  const needed = minFreeBytes(env);
  if (!space || space.freeBytes >= needed) return;
  throw new KatapultError('KP_DISK_FULL', lowDiskMessage(space, needed), {
    hint: `free some space in ${space.folder}; the stack resumes by itself once there is`,
    exitCode: ExitCode.infrastructure,
  });
}
