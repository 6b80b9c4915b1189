import { createHash, randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clusterNames,
  readGrantReplyCodec,
  readGrantRequestCodec,
  type JobRecord,
  type ReadGrantReply,
  type ReadGrantRequest,
} from '@katapult/core';
import { putObject, putSubjectFile, readGrantedObject, readGrantedSubjectFile } from '@katapult/object-files';
import { jobRecord } from '@katapult/core/testing';
import { startNats, type NatsServer } from '@katapult/testkit';
import { ensureStreams, openJetStreamStore, serveReadGrants, type Store } from '../src/index.js';

const names = clusterNames('grants');
const bytes = randomBytes(3 << 20);
const object = `sha256-${createHash('sha256').update(bytes).digest('hex')}`;
const archive = names.outputSubject('agent-w', 'r-grants', 'first', 1);
const archiveBytes = randomBytes(100_000);

const job = (patch: Partial<JobRecord>): JobRecord =>
  jobRecord({
    runId: 'r-grants',
    id: 'second',
    index: 1,
    files: [{ path: 'in.bin', object, size: bytes.length, executable: false, shared: false }],
    inputArchives: [{ object: archive, dir: '' }],
    state: 'running',
    attempt: 2,
    agentId: 'agent-a',
    assignedAt: 0,
    startedAt: 0,
    ...patch,
  });

/** The coordinator's side of read grants, against a real nats-server: who may read what. */
describe('read grants', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let store: Store;
  const logs: string[] = [];

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await ensureStreams(nc, names);
    store = await openJetStreamStore(nc, names, { agentTtlMs: 60_000 });
    await store.createJob(job({}));
    await store.createJob(job({ id: 'done', state: 'done', finishedAt: 1 }));
    await putObject(nc, names.fileStore, object, [bytes]);
    await putSubjectFile(nc, archive, [archiveBytes]);
    serveReadGrants(nc, names, store, (line) => logs.push(line));
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  const ask = async (sender: string, patch: Partial<ReadGrantRequest> = {}): Promise<ReadGrantReply> => {
    const request = readGrantRequestCodec.encode({ v: 1, runId: 'r-grants', jobId: 'second', attempt: 2, object, ...patch });
    const decoded = readGrantReplyCodec.decode((await nc.request(names.readGrantSubject(sender), request, { timeout: 10_000 })).data);
    if (!decoded.ok) throw new Error(decoded.error);
    return decoded.value;
  };
  const never = () => Promise.reject(new Error('asked again'));

  it('grants the agent the attempt is assigned to a read of its files and input archives', async () => {
    const file = await ask('agent-a');
    if (!file.ok) throw new Error(file.message);
    expect((await buffer(readGrantedObject(nc, object, file, never))).equals(bytes)).toBe(true);
    const input = await ask('agent-a', { object: archive });
    if (!input.ok) throw new Error(input.message);
    expect((await buffer(readGrantedSubjectFile(nc, archive, input, never))).equals(archiveBytes)).toBe(true);
  });

  it('refuses another agent, another attempt, a finished job, and an object the attempt does not name', async () => {
    expect(await ask('agent-b')).toEqual({ v: 1, ok: false, message: 'attempt 2 of r-grants/second is not assigned to agent-b now' });
    expect(await ask('agent-a', { attempt: 1 })).toMatchObject({
      ok: false,
      message: 'attempt 1 of r-grants/second is not assigned to agent-a now',
    });
    expect(await ask('agent-a', { jobId: 'done' })).toMatchObject({
      ok: false,
      message: 'attempt 2 of r-grants/done is not assigned to agent-a now',
    });
    expect(await ask('agent-a', { jobId: 'nothing' })).toMatchObject({ ok: false, message: 'attempt 2 of r-grants/nothing: no such job' });
    const other = names.outputSubject('agent-w', 'r-other', 'first', 1);
    expect(await ask('agent-a', { object: other })).toMatchObject({
      ok: false,
      message: `${other} is not an input of attempt 2 of r-grants/second`,
    });
    expect(logs).toContain('refused agent-b a read: attempt 2 of r-grants/second is not assigned to agent-b now');
  });

  it('answers a malformed request with the reason', async () => {
    const reply = readGrantReplyCodec.decode((await nc.request(names.readGrantSubject('agent-a'), 'nonsense', { timeout: 10_000 })).data);
    expect(reply).toEqual({ ok: true, value: { v: 1, ok: false, message: 'read request: not JSON' } });
  });
});
