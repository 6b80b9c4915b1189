/**
 * Below this much free space where the stack keeps its state, JetStream is not given the chance to hit a full
 * disk: nats-server 2.9 deadlocks on a write that fails for want of space (it then answers nothing, not even
 * SIGTERM), so commands refuse to start work and say where space is missing instead.
 */
export const DEFAULT_MIN_FREE_BYTES = 64 * 1024 * 1024;

export interface FolderSpace {
  folder: string;
  freeBytes: number;
}

/** The folder with the least free space: the one that fills first (the state folder, or a disk mounted under it). */
export function tightestFolder(folders: readonly FolderSpace[]): FolderSpace | undefined {
  return folders.reduce<FolderSpace | undefined>(
    (tightest, folder) => (!tightest || folder.freeBytes < tightest.freeBytes ? folder : tightest),
    undefined,
  );
}

/** Bytes as people read them: 1.5 GB, 12.3 MB, 0 B (powers of 1000, as `df -H`). */
export function formatFreeBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 999.95 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The one line said when the stack's disk is (nearly) full: which folder, how much is free, what is needed. */
export function lowDiskMessage(space: FolderSpace, minFreeBytes: number): string {
  return `${space.folder} has ${formatFreeBytes(space.freeBytes)} free; the stack needs at least ${formatFreeBytes(minFreeBytes)} there to store its state`;
}
