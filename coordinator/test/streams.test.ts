import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterNames, storeLimitMessage, streamMaxBytes } from '@katapult/core';
import { putObject } from '@katapult/object-files';
import { startNats, type NatsServer } from '@katapult/testkit';
import { ensureStreams } from '../src/index.js';

const MiB = 1 << 20;
const names = clusterNames('limits');

/** The cluster's streams against a real nats-server: each holds at most its share of the budget, and says which is full. */
describe('stream limits', () => {
  let nats: NatsServer | undefined;
  let nc: NatsConnection | undefined;
  afterEach(async () => {
    await nc?.close();
    await nats?.stop();
  });

  const limitsOf = async () => {
    const jsm = await jetstreamManager(nc!);
    const of = async (name: string) => {
      const { config } = await jsm.streams.info(name);
      return { max_bytes: config.max_bytes, discard: config.discard };
    };
    return {
      assignments: await of(names.streams.assignments),
      events: await of(names.streams.events),
      logs: await of(names.streams.logs),
      outputs: await of(names.streams.outputs),
      files: await of(`OBJ_${names.fileStore}`),
    };
  };

  it('gives each stream its share of the budget; a full one refuses new messages, and the error names it', async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await ensureStreams(nc, names, { budgetBytes: 40 * MiB });
    const shares = streamMaxBytes(40 * MiB);
    expect(await limitsOf()).toEqual({
      assignments: { max_bytes: shares.assignments, discard: DiscardPolicy.New },
      events: { max_bytes: shares.events, discard: DiscardPolicy.Old },
      logs: { max_bytes: shares.logs, discard: DiscardPolicy.New },
      outputs: { max_bytes: shares.outputs, discard: DiscardPolicy.New },
      files: { max_bytes: shares.files, discard: DiscardPolicy.New },
    });
    expect(shares.files).toBe(16 * MiB);

    // 20 MiB into the file store's 16: refused once it is full, in one line naming it.
    const error = await putObject(nc, names.fileStore, 'too-big', [randomBytes(20 * MiB)]).catch((failure: unknown) => failure);
    expect(String(error)).toMatch(/maximum bytes exceeded/);
    expect(storeLimitMessage(`OBJ_${names.fileStore}`, error)).toBe(
      `the JetStream stream OBJ_${names.fileStore} refused a message: maximum bytes exceeded (a limit of that stream: its largest message, or its share of the stack's JetStream budget, KATAPULT_STREAM_MAX_BYTES)`,
    );
    // The events stream makes room instead: reports keep coming.
    const js = jetstream(nc);
    for (let i = 0; i < 12; i += 1) await js.publish(names.eventSubject('a', 'r-x', 'j'), randomBytes(MiB / 4));
    expect((await (await jetstreamManager(nc)).streams.info(names.streams.events)).state.bytes).toBeLessThanOrEqual(shares.events);
  }, 60_000);

  it('without a budget, sets no max_bytes: nats-server would not load a stream whose reservation no longer fits', async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await ensureStreams(nc, names);
    expect(Object.values(await limitsOf()).map((stream) => stream.max_bytes)).toEqual([-1, -1, -1, -1, -1]);
  });

  it('gives existing streams the budget given, never below what they hold', async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: names.streams.logs, subjects: [names.logWildcard] });
    const js = jetstream(nc);
    for (let i = 0; i < 6; i += 1) await js.publish(names.logSubject('r-x', 'j', 'a'), randomBytes(MiB / 4 - 1024));
    const held = (await jsm.streams.info(names.streams.logs)).state;
    await ensureStreams(nc, names, { budgetBytes: 5 * MiB });
    const logs = (await jsm.streams.info(names.streams.logs)).state;
    expect([logs.messages, logs.bytes]).toEqual([held.messages, held.bytes]);
    expect((await limitsOf()).logs).toEqual({ max_bytes: held.bytes, discard: DiscardPolicy.New });
    expect(held.bytes).toBeGreaterThan(streamMaxBytes(5 * MiB).logs);
  });

  it('on a store too small for the budget, the streams get what nats-server can reserve, and the stack starts', async () => {
    nats = await startNats({ maxFileStore: '64MB' });
    nc = await connect({ servers: nats.url });
    const logs: string[] = [];
    await ensureStreams(nc, names, { budgetBytes: 1024 * MiB, log: (line) => logs.push(line) });
    const limits = await limitsOf();
    const total = Object.values(limits).reduce((sum, stream) => sum + stream.max_bytes, 0);
    expect(total).toBeLessThanOrEqual(64 * 1000 * 1000);
    expect(Object.values(limits).every((stream) => stream.max_bytes >= MiB)).toBe(true);
    expect(logs).toEqual([
      expect.stringMatching(/^JetStream's store has room for \d+ % of the stream budget: the new streams get that share of their limits$/),
    ]);
    // Shared as the budget is: the file store still gets the most.
    expect(limits.files.max_bytes).toBeGreaterThan(limits.outputs.max_bytes);
    expect(limits.files.max_bytes).toBeGreaterThan(20 * MiB);
  });
});
