import { randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNats, type NatsServer } from '@katapult/testkit';
import {
  grantedMessages,
  grantObjectRead,
  grantSubjectRead,
  putObject,
  putSubjectFile,
  readGrantedObject,
  readGrantedSubjectFile,
  type ReadGrant,
} from '../src/index.js';

const BUCKET = 'grants';
const STREAM = 'FILES';

describe('read grants: a file read through a consumer made for the reader', () => {
  let nats: NatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await new Objm(nc).create(BUCKET);
    await (await jetstreamManager(nc)).streams.add({ name: STREAM, subjects: ['files.>'] });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  const consumers = async (stream: string) => {
    const names: string[] = [];
    for await (const consumer of (await jetstreamManager(nc)).consumers.list(stream)) names.push(consumer.name);
    return names;
  };
  const never = () => Promise.reject(new Error('asked again'));

  it('reads an object whole and checked, and leaves no consumer behind', async () => {
    const bytes = randomBytes(5 * (1 << 20) + 17);
    await putObject(nc, BUCKET, 'big', [bytes]);
    const grant = (await grantObjectRead(nc, BUCKET, 'big'))!;
    expect(grant).toMatchObject({ stream: `OBJ_${BUCKET}`, messages: 6, size: bytes.length });
    expect(grant.consumer).toMatch(/^grant_[A-Za-z0-9]{22}$/);
    expect((await buffer(readGrantedObject(nc, 'big', grant, never))).equals(bytes)).toBe(true);
    expect(await consumers(`OBJ_${BUCKET}`)).toEqual([]);
    expect(await grantObjectRead(nc, BUCKET, 'never stored')).toBeNull();
  });

  it('reads a subject file whole, and none where the subject holds nothing', async () => {
    const bytes = randomBytes(3 * (1 << 20));
    await putSubjectFile(nc, 'files.a', [bytes]);
    const grant = (await grantSubjectRead(nc, STREAM, 'files.a'))!;
    expect(grant.messages).toBe(4);
    expect((await buffer(readGrantedSubjectFile(nc, 'files.a', grant, never))).equals(bytes)).toBe(true);
    expect(await grantSubjectRead(nc, STREAM, 'files.none')).toBeNull();
    expect(await consumers(STREAM)).toEqual([]);
  });

  it('a read whose consumer went away half-way goes on from a new grant after the last message it got', async () => {
    const bytes = randomBytes(20 * (1 << 20));
    await putObject(nc, BUCKET, 'cut', [bytes]);
    const first = (await grantObjectRead(nc, BUCKET, 'cut'))!;
    const chunks: Uint8Array[] = [];
    const sequences: number[] = [];
    const asked: { after: number; lastRead: number | undefined }[] = [];
    const regrant = async (after: number): Promise<ReadGrant> => {
      asked.push({ after, lastRead: sequences.at(-1) });
      return (await grantObjectRead(nc, BUCKET, 'cut', after))!;
    };
    for await (const message of grantedMessages(nc, first, regrant)) {
      chunks.push(message.data);
      sequences.push(message.seq);
      // Gone as an idle consumer is, or as a server restarted without it would have it.
      if (chunks.length === 3) await (await jetstreamManager(nc)).consumers.delete(first.stream, first.consumer);
    }
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    expect(chunks).toHaveLength(20);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.after).toBe(asked[0]!.lastRead);
  }, 120_000);

  it('fails a read whose bytes do not match the digest the grant gives', async () => {
    await putObject(nc, BUCKET, 'true', [randomBytes(100_000)]);
    const grant = (await grantObjectRead(nc, BUCKET, 'true'))!;
    await expect(buffer(readGrantedObject(nc, 'true', { ...grant, digest: 'SHA-256=wrong' }, never))).rejects.toThrow(/arrived corrupted/);
  });
});
