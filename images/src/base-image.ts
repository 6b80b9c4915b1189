import type Docker from 'dockerode';
import { debootstrap, debootstrapPreflight, importRootfs, removeRootfs } from './debootstrap.js';
import { withFileLock } from './file-lock.js';
import { parseImageRef } from './image-ref.js';
import { followJsonStream, streamError } from './json-stream.js';
import { localImageId } from './local-image.js';
import type { OnProgress } from './progress.js';

export const DEFAULT_BASE_REF = 'katapult/base:bookworm';

export interface EnsureBaseImageOptions {
  /** Local tag of the base image. Default "katapult/base:bookworm". */
  ref?: string;
  /** Debian suite for debootstrap. Default "bookworm". */
  suite?: string;
  /** Debian mirror for debootstrap. Default http://deb.debian.org/debian. */
  mirror?: string;
  /** Image tried before bootstrapping. Default "debian:bookworm-slim". */
  pullFrom?: string;
  /** Bound on the pull attempt; offline hosts should not wait long. Default 20 s. */
  pullTimeoutMs?: number;
  onProgress?: OnProgress;
}

export interface BaseImage {
  ref: string;
  id: string;
  source: 'local' | 'pulled' | 'bootstrapped';
}

async function tryPull(docker: Docker, from: string, ref: string, timeoutMs: number, onProgress?: OnProgress) {
  onProgress?.({ step: 'pull', message: `pulling ${from}` });
  try {
    const stream = await docker.pull(from, { abortSignal: AbortSignal.timeout(timeoutMs) });
    // Bytes downloaded so far, summed over the layers, for a live line.
    const layers = new Map<string, number>();
    const events = await followJsonStream(stream, (event) => {
      const current = event.progressDetail?.current;
      if (event.id === undefined || current === undefined || event.status !== 'Downloading') return;
      layers.set(event.id, current);
      const bytes = [...layers.values()].reduce((sum, n) => sum + n, 0);
      onProgress?.({ step: 'pull', message: `${event.id}: ${event.status}`, detail: true, bytes });
    });
    const failure = events.map(streamError).find((message) => message !== undefined);
    if (failure !== undefined) throw new Error(failure);
    await docker.getImage(from).tag(parseImageRef(ref));
    return await localImageId(docker, ref);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    onProgress?.({ step: 'pull', message: `could not pull ${from}: ${reason.split('\n')[0]}` });
    return undefined;
  }
}

/**
 * Makes sure the base image `ref` exists locally: reuse it, else pull `pullFrom` and tag it,
 * else bootstrap Debian with debootstrap and import it. Concurrent callers take turns on a lock.
 */
export async function ensureBaseImage(docker: Docker, opts: EnsureBaseImageOptions = {}): Promise<BaseImage> {
  const ref = opts.ref ?? DEFAULT_BASE_REF;
  const suite = opts.suite ?? 'bookworm';
  const mirror = opts.mirror ?? 'http://deb.debian.org/debian';
  const pullFrom = opts.pullFrom ?? 'debian:bookworm-slim';
  const onProgress = opts.onProgress;

  const existing = await localImageId(docker, ref);
  if (existing !== undefined) return { ref, id: existing, source: 'local' };

  return withFileLock(`base-image ${ref}`, async () => {
    // Another process may have created it while we waited for the lock.
    const created = await localImageId(docker, ref);
    if (created !== undefined) return { ref, id: created, source: 'local' as const };

    const pulled = await tryPull(docker, pullFrom, ref, opts.pullTimeoutMs ?? 20_000, onProgress);
    if (pulled !== undefined) return { ref, id: pulled, source: 'pulled' as const };

    const executable = await debootstrapPreflight();
    const started = Date.now();
    const dir = await debootstrap(executable, suite, mirror, onProgress);
    try {
      const id = await importRootfs(docker, dir, ref, onProgress);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      onProgress?.({ step: 'import', message: `bootstrapped ${ref} (${id.slice(7, 19)}) in ${seconds} s` });
      return { ref, id, source: 'bootstrapped' as const };
    } finally {
      await removeRootfs(dir);
    }
  });
}
