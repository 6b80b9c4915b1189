import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { startNats, type NatsServer } from '@katapult/testkit';
import { getSubjectFile, putSubjectFile } from '../src/index.js';

const STREAM = 'FILES';

function pieces(bytes: Buffer, size: number): AsyncIterable<Uint8Array> {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
    })(),
  );
}

describe('subject files: a file as the messages of one subject', () => {
  let nats: NatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await (await jetstreamManager(nc)).streams.add({ name: STREAM, subjects: ['files.>'] });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('stores bytes in 1 MiB chunks and an end record, and reads them back whole', async () => {
    const bytes = randomBytes(2.5 * (1 << 20));
    const info = await putSubjectFile(nc, 'files.a', pieces(bytes, 70_000));
    expect(info).toMatchObject({ subject: 'files.a', size: bytes.length, chunks: 3 });
    expect((await buffer((await getSubjectFile(nc, STREAM, 'files.a'))!)).equals(bytes)).toBe(true);
  });

  it('reads an empty file as empty, and a subject with nothing on it as null', async () => {
    await putSubjectFile(nc, 'files.empty', []);
    expect((await buffer((await getSubjectFile(nc, STREAM, 'files.empty'))!)).length).toBe(0);
    expect(await getSubjectFile(nc, STREAM, 'files.none')).toBeNull();
  });

  it('fails a copy cut short, a copy whose bytes do not match its end record, and one whose end record is malformed', async () => {
    const js = jetstream(nc);
    await js.publish('files.cut', randomBytes(1000));
    await expect(buffer((await getSubjectFile(nc, STREAM, 'files.cut'))!)).rejects.toThrow(
      /files\.cut is incomplete: 1 chunks \(1000 bytes\) and no end record/,
    );

    const info = await putSubjectFile(nc, 'files.tampered-source', [randomBytes(500)]);
    await js.publish('files.tampered', randomBytes(500));
    const end = headers();
    end.set('Katapult-File-End', '1');
    await js.publish('files.tampered', JSON.stringify({ ...info, subject: 'files.tampered' }), { headers: end });
    await expect(buffer((await getSubjectFile(nc, STREAM, 'files.tampered'))!)).rejects.toThrow(
      /files\.tampered arrived corrupted: 500 bytes/,
    );

    await js.publish('files.garbled', randomBytes(500));
    await js.publish('files.garbled', '{"size": "500"', { headers: end });
    await expect(buffer((await getSubjectFile(nc, STREAM, 'files.garbled'))!)).rejects.toThrow(
      /^the file on files\.garbled has a malformed end record: it must be JSON with size, chunks and digest$/,
    );
  });
});
