import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clusterNames, loadConfig, logRecordCodec, type CreateRunRequest, type LogRecord, type LogSocketMessage } from '@katapult/core';
import { startNats, waitFor, type NatsServer } from '@katapult/testkit';
import { buildServer, ensureStreams, jetStreamLogSource, openJetStreamStore, RunService, type Provider } from '../src/index.js';

/** The dashboard's page (public) and the log WebSocket it follows a job with, against a real nats-server. */
const names = clusterNames('dash');
const TOKEN = randomBytes(32).toString('hex');
const spec = loadConfig('project: demo\njobs:\n  - {name: ticker, run_command: "true"}\n', 'demo.yaml', { defaultCpus: 2 });
const request: CreateRunRequest = {
  spec,
  configFile: 'demo.yaml',
  images: { default: '127.0.0.1:5000/katapult/base@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' },
  files: {},
};
const idleProvider: Provider = { name: 'idle', ensure: async () => [], stopPool: async () => [], terminateAll: async () => [] };

describe('dashboard', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let api: ReturnType<typeof buildServer>;
  let runId: string;

  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });
  beforeEach(async () => {
    nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    for (const stream of Object.values(names.streams)) await jsm.streams.delete(stream).catch(() => undefined);
    for (const bucket of Object.values(names.buckets)) await (await new Kvm(nc).open(bucket)).destroy().catch(() => undefined);
    await ensureStreams(nc, names);
    const store = await openJetStreamStore(nc, names, { agentTtlMs: 60_000 });
    api = buildServer(new RunService(store, idleProvider), {
      token: TOKEN,
      logs: jetStreamLogSource(nc, names, async (run, job) => {
        const stored = (await store.getJob(run, job))?.value;
        // The jobs here are never placed: their lines are written as the agent `agent-1` would.
        return stored && { ...stored, agentId: 'agent-1' };
      }),
    });
    const created = await api.inject({ method: 'POST', url: '/runs', payload: request, headers: { authorization: `Bearer ${TOKEN}` } });
    runId = created.json<{ runId: string }>().runId;
  });
  afterEach(async () => {
    await api.close();
    await nc.close();
  });

  const publishLog = (jobId: string, record: LogRecord) =>
    jetstream(nc).publish(names.logSubject(runId, jobId, 'agent-1'), logRecordCodec.encode(record));
  const line = (text: string, stream: 'stdout' | 'stderr' = 'stdout'): LogRecord => ({
    v: 1,
    attempt: 1,
    stream,
    line: text,
    at: Date.now(),
  });
  const logConsumers = async () => (await (await jetstreamManager(nc)).streams.info(names.streams.logs)).state.consumer_count;

  /** Opens the log WebSocket as the page does, over a real connection: the token as a subprotocol. */
  async function openLogSocket(jobId: string, protocols = ['katapult.logs', `katapult.bearer.${TOKEN}`]) {
    const base = (await api.listen({ host: '127.0.0.1', port: 0 }).catch(() => `http://127.0.0.1:${portOf(api)}`)).replace(/^http/, 'ws');
    const socket = new WebSocket(`${base}/runs/${runId}/jobs/${jobId}/logs/ws`, protocols);
    const received: LogSocketMessage[] = [];
    let closed: { code: number; reason: string } | undefined;
    socket.on('message', (data) => received.push(JSON.parse(String(data)) as LogSocketMessage));
    socket.on('close', (code, reason) => (closed = { code, reason: String(reason) }));
    const opened = new Promise<WebSocket>((resolve, reject) => {
      socket.once('open', () => resolve(socket));
      socket.once('error', reject);
    });
    return { opened, received, closed: () => closed };
  }

  it('serves its page and assets without the token, with a policy that lets them load nothing from elsewhere', async () => {
    const page = await api.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'; script-src 'self'");
    expect(page.body).toContain('<script src="/dashboard/app.js" defer></script>');
    const script = await api.inject({ method: 'GET', url: '/dashboard/app.js' });
    expect([script.statusCode, script.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(script.body).toContain('fetch(path, { headers: { authorization: `Bearer ${token}` }');
    expect((await api.inject({ method: 'GET', url: '/dashboard/style.css' })).statusCode).toBe(200);
    // The data stays behind the token.
    expect((await api.inject({ method: 'GET', url: '/runs' })).statusCode).toBe(401);
    expect((await api.inject({ method: 'GET', url: '/dashboard/../runs' })).statusCode).toBe(401);
  });

  it("replays a job's stored lines, follows new ones, and removes its consumer when the socket closes", async () => {
    await publishLog('ticker', line('tick 1'));
    await publishLog('ticker', line('oops', 'stderr'));
    await publishLog('other', line('not mine'));
    const tail = await openLogSocket('ticker');
    const socket = await tail.opened;
    await waitFor(() => tail.received.length === 2, { what: 'the stored lines' });
    await publishLog('ticker', line('tick 2'));
    await publishLog('ticker', { v: 1, attempt: 1, eof: true, exitCode: 0, at: Date.now() });
    await waitFor(() => tail.received.length === 4, { what: 'the new line and the end' });
    expect(tail.received.map((message) => (message.type === 'line' ? `${message.stream}: ${message.line}` : message.type))).toEqual([
      'stdout: tick 1',
      'stderr: oops',
      'stdout: tick 2',
      'end',
    ]);
    expect(tail.received[3]).toMatchObject({ type: 'end', attempt: 1, exitCode: 0 });
    expect(socket.protocol).toBe('katapult.logs');
    expect(await logConsumers()).toBe(1);
    socket.close();
    await waitFor(async () => (await logConsumers()) === 0, { what: 'the log consumer removed' });
  });

  it('refuses a WebSocket without the token before sending anything', async () => {
    await publishLog('ticker', line('secret line'));
    for (const protocols of [
      ['katapult.logs'],
      ['katapult.logs', `katapult.bearer.${randomBytes(32).toString('hex')}`],
      [`katapult.bearer.${TOKEN.slice(0, 32)}`],
    ]) {
      const tail = await openLogSocket('ticker', protocols);
      await expect(tail.opened).rejects.toThrow('Unexpected server response: 401');
      expect(tail.received).toEqual([]);
    }
    expect(await logConsumers()).toBe(0);
  });

  it('closes with an error naming what is missing for an unknown job', async () => {
    const tail = await openLogSocket('nobody');
    await tail.opened;
    await waitFor(() => tail.closed() !== undefined, { what: 'the socket closed' });
    expect(tail.received).toEqual([{ type: 'error', code: 'KP_JOB_NOT_FOUND', message: `run ${runId} has no job named "nobody"` }]);
    expect(tail.closed()?.code).toBe(4404);
  });
});

function portOf(server: ReturnType<typeof buildServer>): number {
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('the server is not listening on a port');
  return address.port;
}
