import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, requireDocker, startRegistry, tempDir, type RegistryServer } from '@katapult/testkit';
import { pack } from 'tar-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker, ensureBaseImage, OciRegistry, pushImage, type ProgressEvent } from '../src/index.js';
import { followJsonStream } from '../src/json-stream.js';
import { removeImage, uniqueSuffix } from './helpers.js';

describe('registry client and push', () => {
  const docker = connectDocker();
  const localRef = `katapult-test/tiny:${uniqueSuffix()}`;
  const cleanups: Array<() => Promise<void>> = [];
  let registry: RegistryServer;

  // A one-file image keeps the push fast; its content is unique so each run pushes new blobs.
  beforeAll(async () => {
    await requireDocker();
    registry = await startRegistry();
    cleanups.push(() => registry.stop());
    const dir = await tempDir('tiny-image');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'hello.txt'), `hello ${localRef}\n`);
    const [repo, tag] = localRef.split(':');
    await followJsonStream(await docker.importImage(pack(dir), { repo, tag }));
    cleanups.push(() => removeImage(docker, localRef));
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('pings the registry and lists nothing yet', async () => {
    const client = new OciRegistry(registry.host);
    expect(client.baseUrl).toBe(registry.url);
    await expect(client.ping()).resolves.toBeUndefined();
    expect(await client.listRepositories()).toEqual([]);
    expect(await client.listTags('katapult/nothing')).toEqual([]);
  });

  it('pushes an image, then finds its tag but not a made-up one', async () => {
    const targetRef = `${registry.host}/katapult/tiny:v1`;
    cleanups.push(() => removeImage(docker, targetRef));
    const events: ProgressEvent[] = [];
    const digest = await pushImage(docker, localRef, targetRef, (e) => events.push(e));
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(events.some((e) => e.step === 'push')).toBe(true);

    const client = new OciRegistry(registry.host);
    expect(await client.hasTag('katapult/tiny', 'v1')).toBe(true);
    expect(await client.hasTag('katapult/tiny', 'made-up')).toBe(false);
    expect(await client.hasTag('katapult/absent', 'v1')).toBe(false);
    expect(await client.listRepositories()).toEqual(['katapult/tiny']);
    expect(await client.listTags('katapult/tiny')).toEqual(['v1']);

    const manifest = await fetch(`${registry.url}/v2/katapult/tiny/manifests/v1`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(manifest.headers.get('docker-content-digest')).toBe(digest);
  });

  it('lets ensureBaseImage pull from a reachable registry instead of bootstrapping', async () => {
    const source = `${registry.host}/katapult/tiny:v1`;
    await removeImage(docker, source);
    const ref = `katapult-test/pulled-base:${uniqueSuffix()}`;
    cleanups.push(() => removeImage(docker, ref));
    cleanups.push(() => removeImage(docker, source));
    const base = await ensureBaseImage(docker, { ref, pullFrom: source });
    expect(base).toEqual({ ref, id: (await docker.getImage(localRef).inspect()).Id, source: 'pulled' });
  });

  it('reports a push to a registry that is not running as KP_IMAGE_PUSH_FAILED', async () => {
    const targetRef = `127.0.0.1:${await freePort()}/katapult/tiny:v1`;
    cleanups.push(() => removeImage(docker, targetRef));
    const failure = pushImage(docker, localRef, targetRef);
    await expect(failure).rejects.toMatchObject({ code: 'KP_IMAGE_PUSH_FAILED' });
    await expect(failure).rejects.toThrow(/connection refused; check that the registry is running/);
  });

  it('says which registry is unreachable', async () => {
    const port = await freePort();
    const client = new OciRegistry(`127.0.0.1:${port}`);
    await expect(client.ping()).rejects.toThrow(`cannot reach the registry at http://127.0.0.1:${port}/v2/: connect ECONNREFUSED`);
    expect(new OciRegistry('registry.example.com').baseUrl).toBe('https://registry.example.com');
  });
});
