import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { freePort, requireDocker } from '@katapult/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker, ensureBaseImage, type ProgressEvent } from '../src/index.js';
import { dockerRun, removeImage, uniqueSuffix } from './helpers.js';

// A unique ref so that this suite always exercises the bootstrap path without
// disturbing the shared katapult/base:bookworm cache other suites rely on.
const ref = `katapult-test/base:${uniqueSuffix()}`;
// Nothing listens on port 1: the pull fails at once and the bootstrap path is taken even
// on hosts that can reach Docker Hub.
const pullFrom = '127.0.0.1:1/katapult-test/unpullable:none';

describe('ensureBaseImage', () => {
  const docker = connectDocker();
  beforeAll(() => requireDocker());
  afterAll(() => removeImage(docker, ref));

  it('bootstraps a missing base image once even when two callers race, then finds it locally', { timeout: 600_000 }, async () => {
    const events: ProgressEvent[][] = [[], []];
    const started = Date.now();
    const [first, second] = await Promise.all(
      events.map((log) => ensureBaseImage(docker, { ref, pullFrom, onProgress: (e) => log.push(e) })),
    );
    const bootstrapSeconds = (Date.now() - started) / 1000;
    console.info(`bootstrap of ${ref} took ${bootstrapSeconds.toFixed(1)} s`);

    expect([first?.source, second?.source].sort()).toEqual(['bootstrapped', 'local']);
    expect(second?.id).toBe(first?.id);
    expect(first?.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const bootstrapper = events[first?.source === 'bootstrapped' ? 0 : 1] ?? [];
    expect(bootstrapper.map((e) => e.step)).toEqual(expect.arrayContaining(['pull', 'debootstrap', 'import']));

    const again = Date.now();
    const cached = await ensureBaseImage(docker, { ref, pullFrom });
    expect(cached).toEqual({ ref, id: first?.id, source: 'local' });
    expect(Date.now() - again).toBeLessThan(2_000);

    expect(await dockerRun(ref, ['cat', '/etc/debian_version'])).toMatch(/^12\./);
  });

  it('fails with KP_IMAGE_BOOTSTRAP_FAILED naming the mirror when debootstrap cannot fetch, leaving no rootfs behind', async () => {
    const rootfsBefore = (await readdir(tmpdir())).filter((name) => name.startsWith('katapult-rootfs-'));
    const mirror = `http://127.0.0.1:${await freePort()}/debian`;
    const failure = ensureBaseImage(docker, { ref: `katapult-test/base:${uniqueSuffix()}`, pullFrom, mirror });
    await expect(failure).rejects.toMatchObject({ code: 'KP_IMAGE_BOOTSTRAP_FAILED' });
    await expect(failure).rejects.toThrow(`from ${mirror} failed`);
    const rootfsAfter = (await readdir(tmpdir())).filter((name) => name.startsWith('katapult-rootfs-'));
    expect(rootfsAfter).toEqual(rootfsBefore);
  });
});
