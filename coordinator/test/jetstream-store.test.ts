import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterNames, type RunRecord } from '@katapult/core';
import { jobRecord } from '@katapult/core/testing';
import { startNats, type NatsServer } from '@katapult/testkit';
import { openJetStreamStore } from '../src/index.js';

const names = clusterNames('store-check');

function run(id: string): RunRecord {
  return {
    id,
    project: 'p',
    configFile: 'katapult.yaml',
    jobAssign: 'random',
    state: 'running',
    fingerprint: 'f',
    instances: [],
    autoStopSeconds: null,
    createdAt: 1,
    finishedAt: null,
  };
}

const job = () => jobRecord({ runId: 'r-good' });

describe('a KV record that does not match its schema', () => {
  let nats: NatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('is logged in one line naming its bucket and key, and skipped; the store reads the others, and later records at its next sync', async () => {
    const kvm = new Kvm(jetstream(nc));
    const runs = await kvm.create(names.buckets.runs, { history: 1 });
    const jobs = await kvm.create(names.buckets.jobs, { history: 1 });
    const encode = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
    await runs.put('r-good', encode(run('r-good')));
    await runs.put('r-bad', encode({ ...run('r-bad'), state: 'sleeping' }));
    await runs.put('r-text', encode('{"id": "r-text",'));
    await jobs.put('r-good.a', encode({ ...job(), index: 'first' }));

    const logs: string[] = [];
    const store = await openJetStreamStore(nc, names, { agentTtlMs: 60_000, log: (line) => logs.push(line) });
    expect((await store.listRuns()).map((record) => record.id)).toEqual(['r-good']);
    expect(await store.listJobs('r-good')).toEqual([]);
    expect(logs).toContain(
      `KP_STORE_RECORD KV ${names.buckets.runs} r-bad (revision 2): state must be one of "running", "done", "failed", "aborted", got "sleeping"; skipped`,
    );
    expect(logs).toContain(`KP_STORE_RECORD KV ${names.buckets.runs} r-text (revision 3): not JSON; skipped`);
    expect(logs).toContain(`KP_STORE_RECORD KV ${names.buckets.jobs} r-good.a (revision 1): index must be an integer; skipped`);

    // A record another writer puts after the bad ones is taken at the next sync.
    await runs.put('r-later', encode(run('r-later')));
    await store.sync();
    expect((await store.getRun('r-later'))?.id).toBe('r-later');
  });
});
