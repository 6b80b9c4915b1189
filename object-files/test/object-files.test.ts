import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNats, type NatsServer } from '@katapult/testkit';
import { bucketStream, chunkSubject, ContentChangedError, getObject, metaSubject, putNamedByContent, putObject } from '../src/index.js';

const BUCKET = 'files';

/** The bytes in pieces of `size`, as a file read would give them. */
function pieces(bytes: Buffer, size: number): AsyncIterable<Uint8Array> {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
    })(),
  );
}

async function readAll(nc: NatsConnection, name: string): Promise<Buffer | null> {
  const read = await getObject(nc, BUCKET, name);
  return read ? buffer(read.data) : null;
}

/** The name and digest of bytes as a content-addressed put is given them. */
function contentName(bytes: Buffer): { name: string; digest: string } {
  const digest = createHash('sha256').update(bytes).digest();
  return { name: `sha256-${digest.toString('hex')}`, digest: `SHA-256=${digest.toString('base64url')}=` };
}

async function chunkCount(nc: NatsConnection, nuid: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(bucketStream(BUCKET), { subjects_filter: chunkSubject(BUCKET, nuid) });
  return info.state.subjects?.[chunkSubject(BUCKET, nuid)] ?? 0;
}

describe('object files: streaming put and get in a NATS object store', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let store: ObjectStore;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    store = await new Objm(nc).create(BUCKET);
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('stores bytes in chunks of the size asked, whatever pieces they come in, and reads them back', async () => {
    const bytes = randomBytes(3 * 65_536 + 1_234);
    const info = await putObject(nc, BUCKET, 'odd', pieces(bytes, 10_000), { chunkBytes: 65_536 });
    expect(info).toMatchObject({ name: 'odd', size: bytes.length, chunks: 4, deleted: false });
    expect(await chunkCount(nc, info.nuid)).toBe(4);
    expect((await readAll(nc, 'odd'))?.equals(bytes)).toBe(true);
  });

  it('writes what nats.js reads, and reads what nats.js writes', async () => {
    const ours = randomBytes(300_000);
    await putObject(nc, BUCKET, 'ours', pieces(ours, 4_096), { chunkBytes: 50_000 });
    expect(Buffer.from((await store.getBlob('ours'))!).equals(ours)).toBe(true);
    expect((await store.info('ours'))?.digest).toBe(`SHA-256=${createHash('sha256').update(ours).digest('base64url')}=`);
    const theirs = randomBytes(200_000);
    await store.putBlob({ name: 'theirs' }, theirs);
    expect((await readAll(nc, 'theirs'))?.equals(theirs)).toBe(true);
  });

  it('stores and reads an empty object, and answers null for one that does not exist or was deleted', async () => {
    const info = await putObject(nc, BUCKET, 'empty', pieces(Buffer.alloc(0), 1));
    expect(info).toMatchObject({ size: 0, chunks: 0 });
    expect((await readAll(nc, 'empty'))?.length).toBe(0);
    expect(await getObject(nc, BUCKET, 'nothing')).toBeNull();
    await store.delete('empty');
    expect(await getObject(nc, BUCKET, 'empty')).toBeNull();
  });

  it("replacing an object removes the old one's chunks", async () => {
    const first = await putObject(nc, BUCKET, 'again', pieces(randomBytes(100_000), 8_192), { chunkBytes: 32_768 });
    const second = randomBytes(70_000);
    await putObject(nc, BUCKET, 'again', pieces(second, 8_192), { chunkBytes: 32_768 });
    expect(await chunkCount(nc, first.nuid)).toBe(0);
    expect((await readAll(nc, 'again'))?.equals(second)).toBe(true);
  });

  it('a source that fails leaves no chunks behind and keeps the object it would have replaced', async () => {
    const kept = randomBytes(40_000);
    await putObject(nc, BUCKET, 'kept', pieces(kept, 8_192));
    const before = await (await jetstreamManager(nc)).streams.info(bucketStream(BUCKET));
    const failing = (async function* () {
      yield randomBytes(100_000);
      throw new Error('disk gone');
    })();
    await expect(putObject(nc, BUCKET, 'kept', failing, { chunkBytes: 16_384 })).rejects.toThrow('disk gone');
    const after = await (await jetstreamManager(nc)).streams.info(bucketStream(BUCKET));
    expect(after.state.messages).toBe(before.state.messages);
    expect((await readAll(nc, 'kept'))?.equals(kept)).toBe(true);
  });

  it('refuses an object whose chunks are not all stored, rather than wait for them', async () => {
    const info = await putObject(nc, BUCKET, 'partial', pieces(randomBytes(100_000), 8_192), { chunkBytes: 16_384 });
    await (await jetstreamManager(nc)).streams.purge(bucketStream(BUCKET), { filter: chunkSubject(BUCKET, info.nuid), keep: 2 });
    await expect(getObject(nc, BUCKET, 'partial')).rejects.toThrow('the object partial is incomplete: 2 of its 7 chunks are stored');
  });

  it('a stream whose bytes do not match its description fails instead of ending', async () => {
    const info = await putObject(nc, BUCKET, 'tampered', pieces(randomBytes(50_000), 8_192));
    const { revision: _revision, ...description } = info;
    await jetstream(nc).publish(
      metaSubject(BUCKET, 'tampered'),
      JSON.stringify({ ...description, digest: `SHA-256=${Buffer.alloc(32).toString('base64url')}=` }),
    );
    await expect(readAll(nc, 'tampered')).rejects.toThrow(/tampered arrived corrupted/);
  });
  it('stores bytes under the content name it is given while they are sent, and reads them back', async () => {
    const bytes = randomBytes(300_000);
    const { info, reused } = await putNamedByContent(nc, BUCKET, pieces(bytes, 10_000), Promise.resolve(contentName(bytes)), {
      chunkBytes: 65_536,
    });
    expect(reused).toBe(false);
    expect(info.name).toBe(contentName(bytes).name);
    expect((await readAll(nc, info.name))?.equals(bytes)).toBe(true);
  });

  it('keeps the object already stored under that name, stops sending, and leaves no chunk of its own', async () => {
    // 122 chunks, 4 in flight: the name's lookup (two round trips) is answered long before they are all sent.
    const bytes = randomBytes(2_000_000);
    const first = await putNamedByContent(nc, BUCKET, pieces(bytes, 8_192), Promise.resolve(contentName(bytes)), { chunkBytes: 16_384 });
    const before = await (await jetstreamManager(nc)).streams.info(bucketStream(BUCKET));
    let read = 0;
    // The name is known before the bytes are: sending stops long before a whole second copy was read.
    const counted = (async function* () {
      for (let offset = 0; offset < bytes.length; offset += 8_192) {
        read += 8_192;
        yield bytes.subarray(offset, offset + 8_192);
      }
    })();
    const again = await putNamedByContent(nc, BUCKET, counted, Promise.resolve(contentName(bytes)), { chunkBytes: 16_384 });
    expect(again).toMatchObject({ reused: true, info: { nuid: first.info.nuid } });
    expect(read).toBeLessThan(bytes.length);
    const after = await (await jetstreamManager(nc)).streams.info(bucketStream(BUCKET));
    expect(after.state.messages).toBe(before.state.messages);
  });

  it('stores nothing when the bytes sent do not hash to the name (the file changed while it was read)', async () => {
    const named = randomBytes(50_000);
    const sent = randomBytes(50_000);
    const before = await (await jetstreamManager(nc)).streams.info(bucketStream(BUCKET));
    const failure = await putNamedByContent(nc, BUCKET, pieces(sent, 8_192), Promise.resolve(contentName(named))).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ContentChangedError);
    expect((failure as Error).message).toContain(`the content of ${contentName(named).name} changed while it was being sent`);
    expect(await store.info(contentName(named).name)).toBeNull();
    const after = await (await jetstreamManager(nc)).streams.info(bucketStream(BUCKET));
    expect(after.state.messages).toBe(before.state.messages);
  });

  it('a name that cannot be found (the hash failed) fails the put with its own error and stores nothing', async () => {
    const before = await (await jetstreamManager(nc)).streams.info(bucketStream(BUCKET));
    await expect(
      putNamedByContent(nc, BUCKET, pieces(randomBytes(100_000), 8_192), Promise.reject(new Error('EACCES: cannot read data/x')), {
        chunkBytes: 16_384,
      }),
    ).rejects.toThrow('EACCES: cannot read data/x');
    const after = await (await jetstreamManager(nc)).streams.info(bucketStream(BUCKET));
    expect(after.state.messages).toBe(before.state.messages);
  });
});
