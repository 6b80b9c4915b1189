import { open, readFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contentTag } from './content-tag.js';
import { ImageError } from './errors.js';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryAcquire(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx');
    await handle.writeFile(String(process.pid));
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  // A lock left by a process that died would otherwise block every later caller.
  if (Number.isInteger(holder) && holder > 0 && !pidAlive(holder)) await unlink(path).catch(() => undefined);
  return false;
}

/**
 * Runs `fn` while holding a lock file in the OS temp dir, so that several processes
 * (or several calls in one process) doing the same thing (creating one image, starting one stack) take turns.
 */
export async function withFileLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 15 * 60_000): Promise<T> {
  const path = join(tmpdir(), `katapult-${contentTag([name])}.lock`);
  const deadline = Date.now() + timeoutMs;
  while (!(await tryAcquire(path))) {
    if (Date.now() > deadline) {
      throw new ImageError(
        'KP_IMAGE_LOCK_TIMEOUT',
        `waited ${Math.round(timeoutMs / 1000)} s for the lock ${path} on ${name}; if no katapult process is running, delete that file`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}
