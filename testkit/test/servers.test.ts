import { existsSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { portOpen, requireDocker, startMetadataServer, startNats, startRegistry, waitFor, type NatsServer } from '../src/index.js';

/** The INFO line nats-server sends first on any connection. */
function natsInfo(port: number): Promise<{ auth_required?: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      const line = /^INFO (.*)\r\n/.exec(text);
      if (line) {
        socket.destroy();
        resolve(JSON.parse(line[1]!) as { auth_required?: boolean });
      }
    });
    socket.on('error', reject);
  });
}

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

  it('starts nats-server with an authorization block when given one', async () => {
    const open = await startNats();
    cleanups.push(() => open.stop());
    expect((await natsInfo(open.port)).auth_required).toBeUndefined();
    const guarded = await startNats({ authorization: 'users: [\n  { user: "a", password: "b" }\n]' });
    cleanups.push(() => guarded.stop());
    expect((await natsInfo(guarded.port)).auth_required).toBe(true);
  });

  it('the metadata stand-in answers instance-id, given or random, to a session token only', async () => {
    const metadata = await startMetadataServer({ instanceId: 'i-0123456789abcdef0' });
    cleanups.push(() => metadata.stop());
    const token = await (
      await fetch(`${metadata.url}/latest/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } })
    ).text();
    const instanceId = await fetch(`${metadata.url}/latest/meta-data/instance-id`, { headers: { 'X-aws-ec2-metadata-token': token } });
    expect(await instanceId.text()).toBe('i-0123456789abcdef0');
    expect((await fetch(`${metadata.url}/latest/meta-data/instance-id`)).status).toBe(401);
    const random = await startMetadataServer();
    cleanups.push(() => random.stop());
    expect(random.instanceId).toMatch(/^i-[0-9a-f]{17}$/);
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
    await expect(requireDocker({ DOCKER_HOST: 'unix:///nonexistent.sock' })).rejects.toThrow(/unix:\/\/\/nonexistent\.sock did not answer/);
  });

  it('waitFor returns the truthy value and names what timed out', async () => {
    let calls = 0;
    expect(await waitFor(() => ++calls >= 3 && 'ready', { what: 'three calls', intervalMs: 1 })).toBe('ready');
    await expect(waitFor(() => false, { what: 'the impossible', timeoutMs: 50 })).rejects.toThrow(
      /timed out after 50 ms waiting for the impossible/,
    );
  });
});
