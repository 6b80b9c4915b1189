import type Docker from 'dockerode';
import { contentTag } from './content-tag.js';
import { debootstrap, debootstrapPreflight, importRootfs, removeRootfs } from './debootstrap.js';
import { withFileLock } from './file-lock.js';
import { localImageId } from './local-image.js';
import type { OnProgress } from './progress.js';

export interface BootstrappedImageOptions {
  /** The image's repository, e.g. "katapult/moto"; its tag is derived from the inputs below. */
  repository: string;
  /** Debian suite, e.g. "trixie". */
  suite: string;
  /** Packages added with debootstrap's --include (it resolves no virtual packages: name real ones). */
  packages: readonly string[];
  /** Default http://deb.debian.org/debian. */
  mirror?: string;
  onProgress?: OnProgress;
}

export interface BootstrappedImage {
  ref: string;
  id: string;
  source: 'local' | 'bootstrapped';
  /** How long debootstrap and the import took, when it was made now. */
  seconds?: number;
}

/** The tag of a bootstrapped image: it changes when the suite, the mirror or the package list does. */
export function bootstrappedImageRef(options: Pick<BootstrappedImageOptions, 'repository' | 'suite' | 'packages' | 'mirror'>): string {
  const mirror = options.mirror ?? 'http://deb.debian.org/debian';
  return `${options.repository}:${contentTag([options.suite, '\n', mirror, '\n', [...options.packages].sort().join(',')])}`;
}

/**
 * A Debian image with some packages, made once with debootstrap and `docker import`, then reused by its content tag
 * (a tool image for tests, such as moto's, where no registry image can be pulled). Concurrent callers take turns on
 * a lock file, so two test files never bootstrap it at the same time.
 */
export async function ensureBootstrappedImage(docker: Docker, options: BootstrappedImageOptions): Promise<BootstrappedImage> {
  const ref = bootstrappedImageRef(options);
  const existing = await localImageId(docker, ref);
  if (existing !== undefined) return { ref, id: existing, source: 'local' };
  return withFileLock(`bootstrapped-image ${ref}`, async () => {
    const created = await localImageId(docker, ref);
    if (created !== undefined) return { ref, id: created, source: 'local' as const };
    const executable = await debootstrapPreflight();
    const started = Date.now();
    const mirror = options.mirror ?? 'http://deb.debian.org/debian';
    const dir = await debootstrap(executable, options.suite, mirror, options.onProgress, options.packages);
    try {
      const id = await importRootfs(docker, dir, ref, options.onProgress);
      return { ref, id, source: 'bootstrapped' as const, seconds: (Date.now() - started) / 1000 };
    } finally {
      await removeRootfs(dir);
    }
  });
}
