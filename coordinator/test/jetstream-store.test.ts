import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentRecordCodec, clusterNames, type RunRecord } from '@katapult/core';
import { jobRecord } from '@katapult/core/testing';
import { startNats, waitFor, type NatsServer } from '@katapult/testkit';
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

// One nats-server for the file: each describe uses buckets of its own cluster name.
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

describe('a KV record that does not match its schema', () => {
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

describe("the agents' heartbeat records", () => {
  const heartbeat = (agentId: string, at: number) =>
    agentRecordCodec.encode({ v: 1, agentId, instanceId: `i-${agentId}`, cpus: 2, startedAt: 1, at, running: [] });
  const open = async (cluster: string, ttlMs: number) => {
    const clusterAgents = clusterNames(cluster);
    const store = await openJetStreamStore(nc, clusterAgents, { agentTtlMs: ttlMs });
    return { store, bucket: await new Kvm(jetstream(nc)).open(clusterAgents.buckets.agents) };
  };

  it('are read as stored since the last read: a new beat replaces the one before, and a deleted or broken record takes its agent away', async () => {
    const { store, bucket } = await open('store-agents', 600_000);
    const listed = async () => (await store.listAgents()).map((agent) => `${agent.agentId}@${agent.at}`).sort((a, b) => a.localeCompare(b));

    await bucket.put('a-1', heartbeat('a-1', 1));
    await bucket.put('a-2', heartbeat('a-2', 1));
    expect(await listed()).toEqual(['a-1@1', 'a-2@1']);

    await bucket.put('a-1', heartbeat('a-1', 2));
    await bucket.put('a-3', new TextEncoder().encode('{"v":1,'));
    await bucket.delete('a-2');
    expect(await listed()).toEqual(['a-1@2']);

    // A record that is no longer one (written by hand, by another version) is no agent.
    await bucket.put('a-1', new TextEncoder().encode('{"v":1,'));
    expect(await listed()).toEqual([]);
  });

  it('leave out an agent whose last record is older than the TTL, as the server expiring it does (which sends no delete)', async () => {
    const ttlMs = 2_000;
    const { store, bucket } = await open('store-agents-ttl', ttlMs);
    await bucket.put('a-4', heartbeat('a-4', 3));
    const [heard] = await store.listAgents();
    expect(heard?.agentId).toBe('a-4');
    await waitFor(async () => (await store.listAgents()).length === 0, { what: 'a-4 to expire', timeoutMs: 30_000 });
    expect(Date.now() - heard!.heardAt).toBeGreaterThanOrEqual(ttlMs);
  });

  it('a store opened once every record expired starts at once, with no agent (its watch would bring nothing)', async () => {
    const ttlMs = 1_000;
    const { bucket } = await open('store-agents-expired', ttlMs);
    await bucket.put('a-5', heartbeat('a-5', 4));
    const jsm = await jetstreamManager(nc);
    await waitFor(async () => (await jsm.streams.info(`KV_${clusterNames('store-agents-expired').buckets.agents}`)).state.messages === 0, {
      what: 'the server to expire a-5',
      timeoutMs: 30_000,
    });
    // Before, start() waited for revision 1 until its 300 s limit: a stack started again after a while hung.
    const { store } = await open('store-agents-expired', ttlMs);
    expect(await store.listAgents()).toEqual([]);
    await bucket.put('a-6', heartbeat('a-6', 5));
    expect((await store.listAgents()).map((agent) => agent.agentId)).toEqual(['a-6']);
  }, 60_000);
});
