import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, AckPolicy } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  agentRecordCodec,
  stopRequestCodec,
  assignmentCodec,
  clusterNames,
  jobReportCodec,
  loadConfig,
  poolsOf,
  type AgentView,
  type Assignment,
  type CreateRunRequest,
  type LogFields,
  type RunView,
} from '@katapult/core';
import { startNats, waitFor, type NatsServer } from '@katapult/testkit';
import { buildServer, Coordinator, ensureStreams, openJetStreamStore, RunService, type Provider, type Store } from '../src/index.js';

/**
 * The coordinator against a real nats-server. Agents are played by the test through the same NATS protocol a
 * real agent speaks (heartbeat records, assignment consumer, reports), so every decision is observable.
 */
const names = clusterNames('test');
const spec = loadConfig(
  'project: demo\ninstances: [{cpus: 2}]\njobs:\n  - {name: a, run_command: "true"}\n  - {name: b, run_command: "false", cpus_req: 2}\n',
  'demo.yaml',
  { defaultCpus: 2 },
);
const request: CreateRunRequest = {
  spec,
  configFile: 'demo.yaml',
  images: { default: '127.0.0.1:5000/katapult/base@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' },
  files: {},
};
/** The pool of a config's first `instances` entry: where its run's jobs may go. */
const poolOf = (of: typeof spec) => poolsOf(of)[0]!.id;

const TOKEN = randomBytes(32).toString('hex');

class RecordingProvider implements Provider {
  readonly name = 'recording';
  readonly ensured: number[] = [];
  async ensure(instances: Parameters<Provider['ensure']>[0]) {
    this.ensured.push(instances.reduce((n, i) => n + i.number, 0));
    return [];
  }
  async stopPool() {
    return [];
  }
  async terminateAll() {
    return [];
  }
}

describe('coordinator', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let coordinator: Coordinator;
  let provider: RecordingProvider;
  let api: ReturnType<typeof buildServer>;
  const logs: string[] = [];
  /** Each line with the fields it was logged with (runId, jobId, attempt, agentId, level). */
  const records: Array<{ line: string } & LogFields> = [];

  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  async function startCoordinator() {
    await ensureStreams(nc, names);
    const store = await openJetStreamStore(nc, names, { agentTtlMs: 60_000 });
    const log = (line: string, fields: LogFields = {}) => {
      logs.push(line);
      records.push({ line, ...fields });
    };
    coordinator = new Coordinator(nc, names, store, { tickMs: 3_600_000, lostGraceMs: 0, log });
    await coordinator.start();
    serveApi(store);
  }

  /** The API over `store`, as the coordinator beside it serves it (a replaced coordinator's store answers for it). */
  function serveApi(store: Store) {
    api = buildServer(new RunService(store, provider, { waiting: (job) => coordinator.waitingReason(job) }), { token: TOKEN });
  }

  /** A request as the CLI makes it, with the API token. */
  const call = (request: { method: 'GET' | 'POST'; url: string; payload?: object }) =>
    api.inject({ ...request, headers: { authorization: `Bearer ${TOKEN}` } });

  beforeEach(async () => {
    nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    for (const stream of Object.values(names.streams)) await jsm.streams.delete(stream).catch(() => undefined);
    const kvm = new Kvm(nc);
    for (const bucket of Object.values(names.buckets)) await (await kvm.open(bucket)).destroy().catch(() => undefined);
    provider = new RecordingProvider();
    logs.length = 0;
    records.length = 0;
    await startCoordinator();
  });
  afterEach(async () => {
    coordinator.stop();
    await nc.close();
  });

  async function registerAgent(agentId: string, cpus: number, running: Assignment[] = [], pool: string | null = poolOf(spec)) {
    const kv = await new Kvm(nc).open(names.buckets.agents);
    const now = Date.now();
    const attempts = running.map(({ runId, jobId, attempt }) => ({ runId, jobId, attempt }));
    const record = {
      v: 1 as const,
      agentId,
      instanceId: agentId,
      cpus,
      ...(pool ? { pool } : {}),
      startedAt: now,
      at: now,
      running: attempts,
    };
    await kv.put(agentId, agentRecordCodec.encode(record));
    return kv;
  }

  async function takeAssignments(agentId: string, count: number): Promise<Assignment[]> {
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(names.streams.assignments, {
      durable_name: names.agentConsumer(agentId),
      filter_subject: names.assignmentSubject(agentId),
      ack_policy: AckPolicy.Explicit,
    });
    const consumer = await jetstream(nc).consumers.get(names.streams.assignments, names.agentConsumer(agentId));
    const batch = await consumer.fetch({ max_messages: count, expires: 2000 });
    const out: Assignment[] = [];
    for await (const message of batch) {
      const decoded = assignmentCodec.decode(message.data);
      if (decoded.ok) out.push(decoded.value);
      message.ack();
    }
    return out;
  }

  async function report(assignment: Assignment, agentId: string, type: 'pulling' | 'running' | 'exited', exitCode?: number) {
    const message = {
      v: 1 as const,
      runId: assignment.runId,
      jobId: assignment.jobId,
      attempt: assignment.attempt,
      agentId,
      type,
      at: Date.now(),
      ...(exitCode === undefined ? {} : { exitCode }),
    };
    await jetstream(nc).publish(names.eventSubject(agentId, assignment.runId, assignment.jobId), jobReportCodec.encode(message));
  }

  async function run(runId: string): Promise<RunView> {
    return (await call({ method: 'GET', url: `/runs/${runId}` })).json<RunView>();
  }

  it('stores a run, asks the provider for instances, and keeps jobs pending until an agent is up', async () => {
    const created = await call({ method: 'POST', url: '/runs', payload: request });
    expect(created.statusCode).toBe(201);
    const { runId } = created.json<{ runId: string }>();
    expect(provider.ensured).toEqual([1]);
    await coordinator.tick();
    expect((await run(runId)).jobs.map((job) => job.state)).toEqual(['pending', 'pending']);
  });

  it('gives new work only to agents heard from lately: a record left by an agent that just died gets none', async () => {
    const { runId } = (await call({ method: 'POST', url: '/runs', payload: request })).json<{ runId: string }>();
    await registerAgent('agent-stale', 2);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await registerAgent('agent-fresh', 2);
    coordinator.stop();
    const store = await openJetStreamStore(nc, names, { agentTtlMs: 60_000 });
    coordinator = new Coordinator(nc, names, store, {
      tickMs: 3_600_000,
      lostGraceMs: 0,
      freshAgentMs: 1_000,
      log: (line) => logs.push(line),
    });
    await coordinator.start();
    serveApi(store);
    await coordinator.tick();
    expect((await run(runId)).jobs.map((job) => [job.id, job.state, job.agentId])).toEqual([
      ['a', 'pending', null],
      ['b', 'assigned', 'agent-fresh'],
    ]);
  });

  it('assigns within capacity, records reported states, and finishes the run with the exit codes', async () => {
    const { runId } = (await call({ method: 'POST', url: '/runs', payload: request })).json<{ runId: string }>();
    await registerAgent('agent-1', 2);
    await coordinator.tick();
    // Both jobs together need 3 cpus; the agent has 2: the larger goes first (multi_knapsack), the other waits.
    let assignments = await takeAssignments('agent-1', 2);
    expect(assignments.map((a) => [a.jobId, a.attempt, a.cpus, a.runCommand])).toEqual([['b', 1, 2, 'false']]);
    expect((await run(runId)).jobs.find((job) => job.id === 'a')?.state).toBe('pending');

    await report(assignments[0]!, 'agent-1', 'running');
    await report(assignments[0]!, 'agent-1', 'exited', 1);
    await waitFor(async () => (await run(runId)).jobs.find((job) => job.id === 'b')?.state === 'failed', { what: 'b failed' });

    await coordinator.tick();
    assignments = await takeAssignments('agent-1', 1);
    expect(assignments.map((a) => a.jobId)).toEqual(['a']);
    await report(assignments[0]!, 'agent-1', 'running');
    await report(assignments[0]!, 'agent-1', 'exited', 0);
    await waitFor(async () => (await run(runId)).jobs.find((job) => job.id === 'a')?.state === 'done', { what: 'a done' });
    await coordinator.tick();
    const final = await run(runId);
    expect(final.state).toBe('failed');
    expect(final.jobs.map((job) => [job.id, job.state, job.exitCode, job.agentId])).toEqual([
      ['a', 'done', 0, 'agent-1'],
      ['b', 'failed', 1, 'agent-1'],
    ]);
  });

  it('requeues the job of an agent that stopped heartbeating, as attempt 2', async () => {
    const { runId } = (await call({ method: 'POST', url: '/runs', payload: request })).json<{ runId: string }>();
    const agents = await registerAgent('agent-1', 2);
    await coordinator.tick();
    const [first] = await takeAssignments('agent-1', 1);
    await report(first!, 'agent-1', 'running');
    await waitFor(async () => (await run(runId)).jobs.find((job) => job.id === 'b')?.state === 'running', { what: 'b running' });
    await agents.delete('agent-1'); // what the bucket's max age does to an agent that went silent
    await registerAgent('agent-2', 2);
    // One tick requeues the lost attempt and places attempt 2 on the agent that is still alive.
    await coordinator.tick();
    const b = (await run(runId)).jobs.find((job) => job.id === 'b');
    expect(b).toMatchObject({ state: 'assigned', attempt: 2, agentId: 'agent-2' });
    expect(records).toContainEqual({
      line: `agent agent-1 is gone; ${runId}/b attempt 1 is lost`,
      runId,
      jobId: 'b',
      attempt: 1,
      agentId: 'agent-1',
      level: 'warn',
    });
    expect(records).toContainEqual({ line: `assigned ${runId}/b attempt 2 to agent-2`, runId, jobId: 'b', attempt: 2, agentId: 'agent-2' });
    const [second] = await takeAssignments('agent-2', 1);
    expect([second?.jobId, second?.attempt]).toEqual(['b', 2]);
    // A late report from the lost agent's attempt changes nothing.
    await report(first!, 'agent-1', 'exited', 0);
    await report(second!, 'agent-2', 'running');
    await waitFor(async () => (await run(runId)).jobs.find((job) => job.id === 'b')?.state === 'running', { what: 'attempt 2 running' });
    expect((await run(runId)).jobs.find((job) => job.id === 'b')).toMatchObject({ attempt: 2, agentId: 'agent-2', exitCode: null });
  });

  it('gives work again to an agent that gave an attempt up and heartbeats on (it fenced itself), not before', async () => {
    const { runId } = (await call({ method: 'POST', url: '/runs', payload: request })).json<{ runId: string }>();
    await registerAgent('agent-1', 2);
    await coordinator.tick();
    const [first] = await takeAssignments('agent-1', 1);
    await report(first!, 'agent-1', 'running');
    // Its lease ran out (NATS was away): it stopped the container and says so; its last heartbeat is older.
    const lostAt = Date.now() + 1;
    await jetstream(nc).publish(
      names.eventSubject('agent-1', runId, first!.jobId),
      jobReportCodec.encode({ v: 1, runId, jobId: first!.jobId, attempt: 1, agentId: 'agent-1', type: 'lost', at: lostAt }),
    );
    await waitFor(async () => (await run(runId)).jobs.find((job) => job.id === 'b')?.attempt === 2, { what: 'b requeued' });
    await coordinator.tick();
    expect(await takeAssignments('agent-1', 1)).toEqual([]);
    // A heartbeat stored after its report: it is taking jobs again.
    const kv = await new Kvm(nc).open(names.buckets.agents);
    const record = {
      v: 1 as const,
      agentId: 'agent-1',
      instanceId: 'agent-1',
      cpus: 2,
      pool: poolOf(spec),
      startedAt: lostAt - 60_000,
      at: lostAt + 1,
      running: [],
    };
    await kv.put('agent-1', agentRecordCodec.encode(record));
    await coordinator.tick();
    const [second] = await takeAssignments('agent-1', 1);
    expect([second?.jobId, second?.attempt]).toEqual(['b', 2]);
  });

  it("requeues a lost agent's jobs only once the provider has fenced it, and keeps them while it cannot", async () => {
    const fenced: string[] = [];
    let reachable = false;
    const fencing = Object.assign(new RecordingProvider(), {
      async fence(agentId: string) {
        if (!reachable) throw new Error('EC2 does not answer');
        fenced.push(agentId);
      },
    });
    coordinator.stop();
    const store = await openJetStreamStore(nc, names, { agentTtlMs: 60_000 });
    coordinator = new Coordinator(nc, names, store, {
      tickMs: 3_600_000,
      lostGraceMs: 0,
      log: (line) => logs.push(line),
      provider: fencing,
    });
    await coordinator.start();
    serveApi(store);
    const { runId } = (await call({ method: 'POST', url: '/runs', payload: request })).json<{ runId: string }>();
    const agents = await registerAgent('agent-1', 2);
    await coordinator.tick();
    expect(await takeAssignments('agent-1', 1)).toHaveLength(1);
    await agents.delete('agent-1');
    await registerAgent('agent-2', 4);
    await coordinator.tick();
    expect((await run(runId)).jobs.find((job) => job.id === 'b')).toMatchObject({ state: 'assigned', attempt: 1, agentId: 'agent-1' });
    expect(logs.some((line) => line.startsWith('agent agent-1 is gone but cannot be fenced yet (Error: EC2 does not answer)'))).toBe(true);
    reachable = true;
    await coordinator.tick();
    expect(fenced).toEqual(['agent-1']);
    expect((await run(runId)).jobs.find((job) => job.id === 'b')).toMatchObject({ state: 'assigned', attempt: 2, agentId: 'agent-2' });
  });

  it('drops a malformed report and keeps going', async () => {
    const { runId } = (await call({ method: 'POST', url: '/runs', payload: request })).json<{ runId: string }>();
    await jetstream(nc).publish(names.eventSubject('x', runId, 'a'), new TextEncoder().encode('{"v":1,"type":"exited"'));
    await jetstream(nc).publish(
      names.eventSubject('x', runId, 'a'),
      jobReportCodec.encode({ v: 1, runId, jobId: 'a', attempt: 1, agentId: 'x', type: 'running', at: 1 }),
    );
    await waitFor(() => logs.some((line) => line.includes('dropping a malformed report')), { what: 'the malformed report logged' });
    await registerAgent('agent-1', 2);
    await coordinator.tick();
    expect((await takeAssignments('agent-1', 2)).length).toBe(1);
  });

  it("hears a job's outcome only from the agent its attempt was given to, as the report's subject names it", async () => {
    const { runId } = (await call({ method: 'POST', url: '/runs', payload: request })).json<{ runId: string }>();
    await registerAgent('agent-1', 2);
    await coordinator.tick();
    const [assignment] = await takeAssignments('agent-1', 1);
    const forged = (agentId: string, subjectAgent: string) =>
      jetstream(nc).publish(
        names.eventSubject(subjectAgent, runId, assignment!.jobId),
        jobReportCodec.encode({ v: 1, runId, jobId: assignment!.jobId, attempt: 1, agentId, type: 'exited', exitCode: 0, at: Date.now() }),
      );
    // Another agent, as itself; and another agent naming the right one in the body.
    await forged('agent-9', 'agent-9');
    await forged('agent-1', 'agent-9');
    await waitFor(() => logs.some((line) => line.includes('it names agent agent-1 but agent agent-9 sent it')), {
      what: 'the mismatched report dropped',
    });
    await waitFor(() => logs.some((line) => line.includes(`report from agent agent-9, but attempt 1 is on agent agent-1; dropped`)), {
      what: 'the foreign report dropped',
    });
    expect((await run(runId)).jobs.find((job) => job.id === assignment!.jobId)).toMatchObject({ state: 'assigned', exitCode: null });
    await report(assignment!, 'agent-1', 'exited', 0);
    await waitFor(async () => (await run(runId)).jobs.find((job) => job.id === assignment!.jobId)?.state === 'done', {
      what: 'the real report applied',
    });
  });

  it('a restarted coordinator carries on from what JetStream holds', async () => {
    const { runId } = (await call({ method: 'POST', url: '/runs', payload: request })).json<{ runId: string }>();
    coordinator.stop();
    await startCoordinator();
    expect((await run(runId)).jobs.map((job) => job.id)).toEqual(['a', 'b']);
    await registerAgent('agent-1', 4);
    await coordinator.tick();
    expect((await takeAssignments('agent-1', 2)).map((a) => a.jobId).sort()).toEqual(['a', 'b']);
  });

  it('cancels a running job and asks its agent to stop it until the agent no longer runs it', async () => {
    const { runId } = (await call({ method: 'POST', url: '/runs', payload: request })).json<{ runId: string }>();
    await registerAgent('agent-1', 4);
    await coordinator.tick();
    const assignments = await takeAssignments('agent-1', 2);
    const b = assignments.find((a) => a.jobId === 'b')!;
    await report(b, 'agent-1', 'running');
    await waitFor(async () => (await run(runId)).jobs.find((job) => job.id === 'b')?.state === 'running', { what: 'b running' });
    await registerAgent('agent-1', 4, assignments);

    const stops: string[] = [];
    const subscription = nc.subscribe(names.stopSubject('agent-1'), {
      callback: (_error, message) => {
        const decoded = stopRequestCodec.decode(message.data);
        if (decoded.ok) stops.push(`${decoded.value.jobId}/${decoded.value.attempt}`);
      },
    });
    const cancelled = await call({ method: 'POST', url: `/runs/${runId}/cancel`, payload: { jobs: ['b'] } });
    expect(cancelled.json()).toEqual({ runId, cancelled: ['b'], alreadyOver: [] });
    await coordinator.tick();
    await waitFor(() => stops.length > 0, { what: 'a stop request' });
    expect(stops).toEqual(['b/1']);
    expect((await run(runId)).jobs.map((job) => [job.id, job.state])).toEqual([
      ['a', 'assigned'],
      ['b', 'aborted'],
    ]);
    // The job's late exit, after the kill, does not undo the cancellation.
    await report(b, 'agent-1', 'exited', 137);
    await report(
      assignments.find((a) => a.jobId === 'a')!,
      'agent-1',
      'exited',
      0,
    );
    await waitFor(async () => (await run(runId)).jobs[0]?.state === 'done', { what: 'a done' });
    await coordinator.tick();
    expect(await run(runId)).toMatchObject({ state: 'aborted', jobs: [{ state: 'done' }, { state: 'aborted', exitCode: null }] });
    subscription.unsubscribe();

    const unknown = await call({ method: 'POST', url: `/runs/${runId}/cancel`, payload: { jobs: ['nope'] } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'KP_JOB_NOT_FOUND', message: `run ${runId} has no job named "nope"` });
  });

  it('the same submission while its run is going resumes that run (recover); otherwise a new run starts', async () => {
    const first = (await call({ method: 'POST', url: '/runs', payload: request })).json<{ runId: string; resumed: boolean }>();
    const again = (await call({ method: 'POST', url: '/runs', payload: { ...request, configFile: 'renamed.yaml' } })).json();
    expect(again).toEqual({ runId: first.runId, jobs: 2, resumed: true });
    const changed = {
      ...request,
      images: { default: '127.0.0.1:5000/katapult/base@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' },
    };
    expect((await call({ method: 'POST', url: '/runs', payload: changed })).json()).toMatchObject({ resumed: false });
    const noRecover = { ...request, spec: { ...request.spec, recover: false } };
    const fresh = (await call({ method: 'POST', url: '/runs', payload: noRecover })).json<{ runId: string; resumed: boolean }>();
    const freshAgain = (await call({ method: 'POST', url: '/runs', payload: noRecover })).json<{ runId: string; resumed: boolean }>();
    expect([fresh.resumed, freshAgain.resumed]).toEqual([false, false]);
    expect(freshAgain.runId).not.toBe(fresh.runId);
  });

  it('forgets a gone agent: its consumer and the assignments it never took are removed after a minute', async () => {
    (await call({ method: 'POST', url: '/runs', payload: request })).json<{ runId: string }>();
    const agents = await registerAgent('agent-1', 4);
    await coordinator.tick(); // both jobs assigned to agent-1, which never takes them
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(names.streams.assignments, {
      durable_name: names.agentConsumer('agent-1'),
      filter_subject: names.assignmentSubject('agent-1'),
      ack_policy: AckPolicy.Explicit,
    });
    await agents.delete('agent-1');
    let clock = Date.now() + 60_000;
    const store = await openJetStreamStore(nc, names, { agentTtlMs: 60_000 });
    const later = new Coordinator(nc, names, store, {
      tickMs: 3_600_000,
      lostGraceMs: 0,
      log: (line) => logs.push(line),
      now: () => clock,
    });
    await later.tick();
    expect((await jsm.streams.info(names.streams.assignments)).state.messages).toBe(2);
    clock += 61_000;
    await later.tick();
    expect(logs).toContain(`forgot gone agent's consumer ${names.agentConsumer('agent-1')} and its unclaimed assignments`);
    expect((await jsm.streams.info(names.streams.assignments)).state.messages).toBe(0);
    await expect(jsm.consumers.info(names.streams.assignments, names.agentConsumer('agent-1'))).rejects.toThrow();
  });

  it('answers only requests with the API token, /health excepted', async () => {
    const created = await call({ method: 'POST', url: '/runs', payload: request });
    const { runId } = created.json<{ runId: string }>();
    const attempts = {
      none: {},
      'not bearer': { authorization: TOKEN },
      wrong: { authorization: `Bearer ${randomBytes(32).toString('hex')}` },
      'a prefix of it': { authorization: `Bearer ${TOKEN.slice(0, 32)}` },
      'with more after it': { authorization: `Bearer ${TOKEN}x` },
    };
    for (const [what, headers] of Object.entries(attempts)) {
      for (const [method, url, payload] of [
        ['GET', '/runs'],
        ['GET', `/runs/${runId}`],
        ['GET', '/agents'],
        ['POST', '/runs', request],
        ['POST', `/runs/${runId}/cancel`, {}],
        ['GET', '/no-such-route'],
      ] as const) {
        const response = await api.inject({ method, url, headers, ...(payload ? { payload } : {}) });
        expect([what, method, url, response.statusCode]).toEqual([what, method, url, 401]);
        expect(response.json()).toEqual({
          code: 'KP_API_UNAUTHORIZED',
          message: 'this request has no valid API token (Authorization: Bearer <token>)',
        });
        expect(response.body).not.toContain(TOKEN);
      }
    }
    // Nothing was created or cancelled by the refused requests.
    expect(
      (await call({ method: 'GET', url: '/runs' })).json<RunView[]>().map((run) => [run.id, run.jobs.map((job) => job.state)]),
    ).toEqual([[runId, ['pending', 'pending']]]);
    expect((await api.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await call({ method: 'GET', url: `/runs/${runId}` })).statusCode).toBe(200);
    expect((await api.inject({ method: 'GET', url: '/agents', headers: { authorization: `bearer ${TOKEN}` } })).statusCode).toBe(200);
  });

  it('cannot be built without a token worth the name', () => {
    const service = new RunService({} as never, provider);
    for (const token of ['', 'short']) {
      expect(() => buildServer(service, { token })).toThrow(
        expect.objectContaining({
          code: 'KP_API_TOKEN_MISSING',
          message: "the coordinator's API needs a token of at least 32 characters (KATAPULT_API_TOKEN)",
        }),
      );
    }
  });

  it("carries a job's memory and network to its assignment", async () => {
    const limited = loadConfig(
      'instances: [{cpus: 2}]\njobs:\n  - {name: m, run_command: "true", memory: 256m, network: none}\n',
      'm.yaml',
      { defaultCpus: 2 },
    );
    await call({ method: 'POST', url: '/runs', payload: { ...request, spec: limited } });
    await registerAgent('agent-1', 2, [], poolOf(limited));
    await coordinator.tick();
    const [assignment] = await takeAssignments('agent-1', 1);
    expect([assignment?.jobId, assignment?.memoryBytes, assignment?.network]).toEqual(['m', 256 * 1024 * 1024, 'none']);
  });

  it("places a GPU job only on an agent with free GPUs, gives it their count, and lists the agents' GPUs and type", async () => {
    const gpuSpec = loadConfig(
      'instances: [{cpus: 4, gpus: 1}]\njobs:\n  - {name: cuda, run_command: "true", gpus_req: 1}\n  - {name: cuda2, run_command: "true", gpus_req: 1}\n  - {name: plain, run_command: "true"}\n',
      'g.yaml',
      { defaultCpus: 2 },
    );
    const { runId } = (await call({ method: 'POST', url: '/runs', payload: { ...request, spec: gpuSpec } })).json<{ runId: string }>();
    await registerAgent('cpu-only', 4, [], poolOf(gpuSpec));
    const kv = await new Kvm(nc).open(names.buckets.agents);
    const now = Date.now();
    const pool = poolOf(gpuSpec);
    await kv.put(
      'gpu-1',
      agentRecordCodec.encode({
        v: 1,
        agentId: 'gpu-1',
        instanceId: 'i-0abc',
        instanceType: 'g4dn.xlarge',
        cpus: 4,
        gpus: 1,
        pool,
        startedAt: now,
        at: now,
        running: [],
      }),
    );
    await coordinator.tick();
    const onGpu = await takeAssignments('gpu-1', 3);
    expect(onGpu.map((a) => [a.jobId, a.gpus])).toEqual([['cuda', 1]]);
    expect((await takeAssignments('cpu-only', 3)).map((a) => [a.jobId, a.gpus])).toEqual([['plain', 0]]);
    // One GPU, taken: the second GPU job waits even though both agents have cpus free.
    expect((await run(runId)).jobs.find((job) => job.id === 'cuda2')?.state).toBe('pending');
    const agents = (await call({ method: 'GET', url: '/agents' })).json<AgentView[]>();
    expect(agents.map((a) => [a.agentId, a.instanceType, a.gpus, a.usedGpus, a.usedCpus]).sort()).toEqual([
      ['cpu-only', null, 0, 0, 1],
      ['gpu-1', 'g4dn.xlarge', 1, 1, 1],
    ]);
  });

  it("places a run's jobs only on the agents of its own pools, and says why the others wait", async () => {
    const other = loadConfig(
      'project: other\ninstances: [{cpus: 2}]\njobs:\n  - {name: big, run_command: "true", cpus_req: 2}\n',
      'o.yaml',
      { defaultCpus: 2 },
    );
    const { runId: demoRun } = (await call({ method: 'POST', url: '/runs', payload: request })).json<{ runId: string }>();
    const { runId: otherRun } = (
      await call({ method: 'POST', url: '/runs', payload: { ...request, spec: other, configFile: 'o.yaml' } })
    ).json<{ runId: string }>();
    // Same spec, other project: another pool. An agent from before pools (no pool) takes nothing.
    await registerAgent('demo-1', 2, [], poolOf(spec));
    await registerAgent('nobody-1', 8, [], null);
    await coordinator.tick();
    expect((await takeAssignments('demo-1', 3)).map((a) => `${a.runId}/${a.jobId}`)).toEqual([`${demoRun}/b`]);
    expect(await takeAssignments('nobody-1', 3)).toEqual([]);
    const waiting = (await run(otherRun)).jobs[0]!;
    expect([waiting.state, waiting.waiting]).toEqual(['pending', `no agent of pool ${poolOf(other)} is up yet`]);
    expect((await run(demoRun)).jobs.find((job) => job.id === 'a')?.waiting).toBe(`needs 1 cpu; pool ${poolOf(spec)} has 0 free of 2`);
    await registerAgent('other-1', 2, [], poolOf(other));
    await coordinator.tick();
    expect((await takeAssignments('other-1', 3)).map((a) => `${a.runId}/${a.jobId}`)).toEqual([`${otherRun}/big`]);
    const placed = (await run(otherRun)).jobs[0]!;
    expect([placed.agentId, placed.pool]).toEqual(['other-1', poolOf(other)]);
    expect(
      (await call({ method: 'GET', url: '/agents' }))
        .json<AgentView[]>()
        .map((a) => [a.agentId, a.pool])
        .sort(),
    ).toEqual([
      ['demo-1', poolOf(spec)],
      ['nobody-1', null],
      ['other-1', poolOf(other)],
    ]);
  });

  it('schedules job and agent records stored before GPUs were counted as needing and offering none', async () => {
    const { runId } = (await call({ method: 'POST', url: '/runs', payload: request })).json<{ runId: string }>();
    const jobs = await new Kvm(nc).open(names.buckets.jobs);
    const keys: string[] = [];
    for await (const key of await jobs.keys()) keys.push(key);
    for (const key of keys) {
      const { gpusReq, ...old } = JSON.parse(new TextDecoder().decode((await jobs.get(key))!.value)) as { gpusReq?: number };
      expect(gpusReq).toBe(0);
      await jobs.put(key, new TextEncoder().encode(JSON.stringify(old)));
    }
    await registerAgent('agent-old', 2); // a record without gpus, as agents wrote it before
    await coordinator.tick();
    const [assignment] = await takeAssignments('agent-old', 2);
    expect([assignment?.jobId, assignment?.gpus]).toEqual(['b', 0]);
    expect((await call({ method: 'GET', url: '/agents' })).json<AgentView[]>()).toEqual([
      expect.objectContaining({ agentId: 'agent-old', instanceType: null, pool: poolOf(spec), gpus: 0, usedGpus: 0, usedCpus: 2 }),
    ]);
    expect((await run(runId)).jobs.map((job) => job.state).sort()).toEqual(['assigned', 'pending']);
  });

  it("pages a run's jobs, by state, with the counts of the whole run", async () => {
    const { runId } = (await call({ method: 'POST', url: '/runs', payload: request })).json<{ runId: string }>();
    await registerAgent('agent-1', 2);
    await coordinator.tick();
    const page = (await call({ method: 'GET', url: `/runs/${runId}/jobs?offset=1&limit=1` })).json<{
      total: number;
      offset: number;
      jobs: { id: string }[];
      counts: Record<string, number>;
    }>();
    expect([page.total, page.offset, page.jobs.map((job) => job.id), page.counts]).toEqual([2, 1, ['b'], { pending: 1, assigned: 1 }]);
    const pending = (await call({ method: 'GET', url: `/runs/${runId}/jobs?state=pending` })).json<{
      total: number;
      jobs: { id: string }[];
    }>();
    expect([pending.total, pending.jobs.map((job) => job.id)]).toEqual([1, ['a']]);
    expect((await call({ method: 'GET', url: `/runs/${runId}/jobs?limit=lots` })).statusCode).toBe(400);
    expect((await call({ method: 'GET', url: '/runs/r-nope/jobs' })).statusCode).toBe(404);
  });

  it('refuses a run whose job names a path outside its work folder', async () => {
    for (const [field, patch] of [
      ['output_files', { outputFiles: ['../../etc'] }],
      ['output_files', { outputFiles: ['.'] }],
      ['upload_files', { uploadFiles: ['/etc/passwd'] }],
    ] as const) {
      const spec = { ...request.spec, jobs: [{ ...request.spec.jobs[0]!, ...patch }] };
      const response = await call({ method: 'POST', url: '/runs', payload: { ...request, spec } });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'KP_API_BAD_PATH', message: expect.stringContaining(`job "a" ${field}: `) });
    }
    expect((await call({ method: 'GET', url: '/runs' })).json()).toEqual([]);
  });

  it('rejects a request body that breaks the schema with 400', async () => {
    const response = await call({ method: 'POST', url: '/runs', payload: { spec: { jobs: [] }, configFile: 'x', images: {} } });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'KP_API_BAD_REQUEST' });
    expect((await call({ method: 'GET', url: '/runs/r-nope' })).statusCode).toBe(404);
  });

  it('refuses an image that is not pinned by digest with a 400 naming the environment or the agent image, and creates no run', async () => {
    for (const ref of ['127.0.0.1:5000/katapult/base:x', '127.0.0.1:5000/katapult/base', '127.0.0.1:5000/katapult/base@sha256:abc']) {
      const response = await call({ method: 'POST', url: '/runs', payload: { ...request, images: { default: ref } } });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({
        code: 'KP_API_IMAGE_NOT_PINNED',
        message: `images.default: "${ref}" is not pinned by digest (<repository>@sha256:<64 hex digits>)`,
      });
    }
    const agent = await call({
      method: 'POST',
      url: '/runs',
      payload: { ...request, agentImage: 'registry.example.com/katapult/agent:1' },
    });
    expect(agent.statusCode).toBe(400);
    expect(agent.json()).toEqual({
      code: 'KP_API_IMAGE_NOT_PINNED',
      message: 'agentImage: "registry.example.com/katapult/agent:1" is not pinned by digest (<repository>@sha256:<64 hex digits>)',
    });
    expect((await call({ method: 'GET', url: '/runs' })).json()).toEqual([]);
    // A tag before the digest is fine: the digest is what is pulled.
    const tagged = await call({
      method: 'POST',
      url: '/runs',
      payload: { ...request, images: { default: `127.0.0.1:5000/katapult/base:x@sha256:${'c'.repeat(64)}` } },
    });
    expect(tagged.statusCode).toBe(201);
  });

  it('takes a body as sent: a wrong type or too many instances is a 400 naming the field, never coerced', async () => {
    const instance = spec.instances[0]!;
    for (const [patch, field] of [
      [{ cpus: '2' }, '/spec/instances/0/cpus'],
      [{ number: 100_000 }, '/spec/instances/0/number'],
      [{ diskSize: '' }, '/spec/instances/0/diskSize'],
    ] as const) {
      const response = await call({
        method: 'POST',
        url: '/runs',
        payload: { ...request, spec: { ...spec, instances: [{ ...instance, ...patch }] } },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json<{ message: string }>().message).toContain(field.replace('/spec', 'body/spec'));
    }
    expect(provider.ensured).toEqual([]);
    const malformed = await api.inject({
      method: 'POST',
      url: '/runs',
      payload: '{"spec":',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    });
    expect([malformed.statusCode, malformed.json<{ code: string }>().code]).toEqual([400, 'KP_API_BAD_REQUEST']);
  });
});
