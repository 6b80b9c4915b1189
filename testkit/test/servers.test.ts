import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { portOpen, requireDocker, startNats, startRegistry, waitFor, type NatsServer } from '../src/index.js';

describe('testkit servers', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('starts nats-server with JetStream, restarts it on the same port, and stops it', async () => {
    const nats: NatsServer = await startNats();
    cleanups.push(() => nats.stop());
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    expect(await portOpen(nats.port)).toBe(true);

    await nats.restart();
    expect(await portOpen(nats.port)).toBe(true);

    await nats.stop();
    expect(await portOpen(nats.port)).toBe(false);
    expect(existsSync(nats.storeDir)).toBe(false);
  });

  it('starts a registry that answers /v2/ and stops it', async () => {
    const registry = await startRegistry();
    cleanups.push(() => registry.stop());
    expect(registry.url).toBe(`http://${registry.host}`);
    const response = await fetch(`${registry.url}/v2/_catalog`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ repositories: [] });

    await registry.stop();
    expect(await portOpen(registry.port)).toBe(false);
  });

  it('requireDocker passes on this machine and names DOCKER_HOST when the engine is missing', async () => {
    await requireDocker();
    await expect(requireDocker({ DOCKER_HOST: 'unix:///nonexistent.sock' })).rejects.toThrow(
      /unix:\/\/\/nonexistent\.sock did not answer/,
    );
  });

  it('waitFor returns the truthy value and names what timed out', async () => {
    let calls = 0;
    expect(await waitFor(() => ++calls >= 3 && 'ready', { what: 'three calls', intervalMs: 1 })).toBe('ready');
    await expect(waitFor(() => false, { what: 'the impossible', timeoutMs: 50 })).rejects.toThrow(
      /timed out after 50 ms waiting for the impossible/,
    );
  });
});
