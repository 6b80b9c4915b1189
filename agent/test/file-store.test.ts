import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { clusterNames } from '@katapult/core';
import { jetstream } from '@nats-io/jetstream';
import { metaSubject, putObject } from '@katapult/object-files';
import { startNats, tempDir, type NatsServer } from '@katapult/testkit';
import { openJobFileStore, type JobFileStore } from '../src/index.js';
import { grantEveryRead } from './read-grants.js';

const names = clusterNames('file-store-test');
const attempt = { runId: 'r-files', jobId: 'job', attempt: 1 };
const nameOf = (bytes: Buffer) => `sha256-${createHash('sha256').update(bytes).digest('hex')}`;

describe("the agent's file store", () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let cacheDir: string;
  let files: JobFileStore;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await new Objm(nc).create(names.fileStore);
    grantEveryRead(nc, names);
    cacheDir = await tempDir('agent-file-store');
    files = await openJobFileStore(nc, names, 'files-0', cacheDir);
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  async function stored(bytes: Buffer, name = nameOf(bytes)): Promise<string> {
    await putObject(nc, names.fileStore, name, [bytes]);
    return name;
  }

  it('gives the bytes while they download, caches them, and gives the cached copy to a job opening them meanwhile', async () => {
    const bytes = randomBytes(3 << 20);
    const object = await stored(bytes);
    const first = await files.open(object, attempt);
    const second = files.open(object, attempt);
    const [read, alsoRead] = await Promise.all([buffer(first), second.then(buffer)]);
    expect(read.equals(bytes)).toBe(true);
    expect(alsoRead.equals(bytes)).toBe(true);
    expect((await readFile(`${cacheDir}/${object}`)).equals(bytes)).toBe(true);
    // Gone from the object store, it is still there for the next job of this agent.
    await (await new Objm(nc).open(names.fileStore)).delete(object);
    expect((await buffer(await files.open(object, attempt))).equals(bytes)).toBe(true);
  });

  it('fails a download whose bytes do not match its name, and caches nothing', async () => {
    const object = await stored(randomBytes(100_000), nameOf(Buffer.from('something else')));
    await expect(buffer(await files.open(object, attempt))).rejects.toThrow(/arrived corrupted/);
    expect((await readdir(cacheDir)).filter((entry) => entry.startsWith(object))).toEqual([]);
  });

  it('fails a download whose description claims the digest its name gives but whose bytes are others, and caches nothing', async () => {
    // 16 MiB: big enough that a write to the cache is still in flight when the read fails at its end.
    const claimed = randomBytes(16 << 20);
    const object = nameOf(claimed);
    const info = await putObject(nc, names.fileStore, object, [randomBytes(16 << 20)]);
    const { revision: _revision, ...description } = info;
    const digest = `SHA-256=${createHash('sha256').update(claimed).digest('base64url')}=`;
    await jetstream(nc).publish(metaSubject(names.fileStore, object), JSON.stringify({ ...description, digest }));
    await expect(buffer(await files.open(object, attempt))).rejects.toThrow(/arrived corrupted/);
    expect((await readdir(cacheDir)).filter((entry) => entry.startsWith(object))).toEqual([]);
  });

  it('a download stopped by its reader is made again by a job that was waiting for it', async () => {
    const bytes = randomBytes(4 << 20);
    const object = await stored(bytes);
    const abandoned: Readable = await files.open(object, attempt);
    const waiting = files.open(object, attempt);
    abandoned.destroy();
    expect((await buffer(await waiting)).equals(bytes)).toBe(true);
    expect((await readdir(cacheDir)).filter((entry) => entry.startsWith(object))).toEqual([object]);
  });

  it('refuses an object that is not in the store', async () => {
    await expect(files.open(nameOf(Buffer.from('never stored')), attempt)).rejects.toThrow(/is no longer stored/);
  });
});
