import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  applyJobEvent,
  clusterNames,
  loadConfig,
  poolsOf,
  type CreateRunRequest,
  type JobReport,
  type LogFields,
  type Provider,
} from '@katapult/core';
import { Coordinator, RunService, type CoordinatorOptions } from '../src/index.js';
import { MemoryDispatch } from './harness/memory-dispatch.js';
import { MemoryStore } from './harness/memory-store.js';

/**
 * The coordinator's loops on an in-memory store and dispatch with a clock of the test's own (Nomad's scheduler
 * harness): no NATS, no Docker, no sleeps. Runs are submitted through the RunService as the HTTP API does; agents
 * are played by heartbeats stored and reports delivered; what is checked is what the API and the agents would see.
 */
const names = clusterNames('loops');
const image = '127.0.0.1:5000/katapult/base@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const LOST_GRACE_MS = 30_000;

const requestOf = (yaml: string): CreateRunRequest => ({
  spec: loadConfig(yaml, 'loops.yaml', { defaultCpus: 2 }),
  configFile: 'loops.yaml',
  images: { default: image },
  files: {},
});
/** Jobs of 1, 2 and 1 cpus for 2-cpu instances. */
const threeJobs = requestOf(
  'project: demo\ninstances: [{cpus: 2}]\njobs:\n  - {name: a, run_command: "true"}\n  - {name: b, run_command: "true", cpus_req: 2}\n  - {name: c, run_command: "true"}\n',
);
/** The same pool's jobs of 1 and 2 cpus. */
const twoJobs = requestOf(
  'project: demo\ninstances: [{cpus: 2}]\njobs:\n  - {name: a, run_command: "true"}\n  - {name: b, run_command: "true", cpus_req: 2}\n',
);
const poolOf = (request: CreateRunRequest) => poolsOf(request.spec)[0]!.id;
const POOL = poolOf(threeJobs);
const OTHER_POOL = poolOf(requestOf('project: other\ninstances: [{cpus: 8}]\njobs:\n  - {name: x, run_command: "true"}\n'));

const provider: Provider = {
  name: 'none',
  ensure: async () => [],
  stopPool: async () => [],
  terminateAll: async () => [],
};

let running: Coordinator | undefined;
afterEach(() => running?.stop());

/** A coordinator on the in-memory store and dispatch, started at the clock's time. */
async function harness(options: Partial<CoordinatorOptions> = {}) {
  let clock = 1_700_000_000_000;
  const now = () => clock;
  const store = new MemoryStore(now);
  const dispatch = new MemoryDispatch(names);
  const lines: ({ line: string } & LogFields)[] = [];
  const log = (line: string, fields: LogFields = {}) => lines.push({ line, ...fields });
  const coordinatorOn = (through: MemoryDispatch) =>
    new Coordinator(through, names, store, { tickMs: 3_600_000, lostGraceMs: LOST_GRACE_MS, log, now, ...options });
  const coordinator = coordinatorOn(dispatch);
  running = coordinator;
  await coordinator.start();
  const runs = new RunService(store, provider, { now, waiting: (job) => coordinator.waitingReason(job) });
  return {
    store,
    dispatch,
    /** Another coordinator on the same store (this one restarted), started now, with a dispatch of its own. */
    async restart() {
      coordinator.stop();
      const next = new MemoryDispatch(names);
      const restarted = coordinatorOn(next);
      running = restarted;
      await restarted.start();
      return { dispatch: next, coordinator: restarted };
    },
    coordinator,
    runs,
    lines,
    advance: (ms: number) => (clock += ms),
    now,
    /** An agent's heartbeat record, `at` on its clock (by default the test's), running the attempts listed. */
    heartbeat(
      agentId: string,
      cpus: number,
      { pool = POOL, at = clock, runs: attempts = [] as { runId: string; jobId: string; attempt: number }[] } = {},
    ) {
      store.heartbeat({ v: 1, agentId, instanceId: agentId, cpus, pool, startedAt: clock, at, running: attempts });
    },
    /** A report as the agent sends it. */
    report(agentId: string, runId: string, jobId: string, attempt: number, type: JobReport['type'], extra: Partial<JobReport> = {}) {
      return dispatch.report({ v: 1, runId, jobId, attempt, agentId, type, at: clock, ...extra });
    },
    /** The run's jobs as the API shows them: id, state, attempt, agent. */
    async jobs(runId: string) {
      return (await runs.get(runId)).jobs.map((job) => [job.id, job.state, job.attempt, job.agentId]);
    },
  };
}

describe('coordinator loops, in memory', () => {
  it('places pending jobs on the free cpus of their own pool’s agents, and says why the rest wait', async () => {
    const h = await harness();
    const { runId } = await h.runs.create(threeJobs);
    h.heartbeat('agent-1', 2);
    h.heartbeat('agent-elsewhere', 8, { pool: OTHER_POOL });
    await h.coordinator.tick();
    // 2 cpus for 4 asked: the largest first (multi_knapsack), the others wait; the other pool's 8 cpus are not used.
    expect(await h.jobs(runId)).toEqual([
      ['a', 'pending', 1, null],
      ['b', 'assigned', 1, 'agent-1'],
      ['c', 'pending', 1, null],
    ]);
    expect(h.dispatch.sentTo('agent-elsewhere')).toEqual([]);
    expect((await h.runs.get(runId)).jobs[0]!.waiting).toBe(`needs 1 cpu; pool ${POOL} has 0 free of 2`);

    h.heartbeat('agent-2', 2);
    await h.coordinator.tick();
    expect(await h.jobs(runId)).toEqual([
      ['a', 'assigned', 1, 'agent-2'],
      ['b', 'assigned', 1, 'agent-1'],
      ['c', 'assigned', 1, 'agent-2'],
    ]);
    expect(
      h.dispatch.assignments.map(({ agentId, assignment }) => [agentId, assignment.jobId, assignment.cpus, assignment.attempt]),
    ).toEqual([
      ['agent-1', 'b', 2, 1],
      ['agent-2', 'a', 1, 1],
      ['agent-2', 'c', 1, 1],
    ]);
  });

  it("moves a job through its reports, starts its dependent when it is done, and closes the run with the jobs' outcome", async () => {
    const h = await harness();
    const { runId } = await h.runs.create(
      requestOf(
        'project: demo\ninstances: [{cpus: 2}]\njobs:\n  - {name: a, run_command: "true"}\n  - {name: b, run_command: "false", after: [a]}\n',
      ),
    );
    h.heartbeat('agent-1', 2);
    await h.coordinator.tick();
    expect(await h.jobs(runId)).toEqual([
      ['a', 'assigned', 1, 'agent-1'],
      ['b', 'blocked', 1, null],
    ]);
    expect(await h.report('agent-1', runId, 'a', 1, 'pulling')).toBe('ack');
    expect((await h.jobs(runId))[0]).toEqual(['a', 'pulling', 1, 'agent-1']);
    expect(await h.report('agent-1', runId, 'a', 1, 'running')).toBe('ack');
    expect((await h.jobs(runId))[0]).toEqual(['a', 'running', 1, 'agent-1']);
    expect(await h.report('agent-1', runId, 'a', 1, 'exited', { exitCode: 0 })).toBe('ack');
    await h.coordinator.tick();
    expect(await h.jobs(runId)).toEqual([
      ['a', 'done', 1, 'agent-1'],
      ['b', 'assigned', 1, 'agent-1'],
    ]);
    expect((await h.runs.get(runId)).state).toBe('running');

    await h.report('agent-1', runId, 'b', 1, 'running');
    await h.report('agent-1', runId, 'b', 1, 'exited', { exitCode: 3 });
    await h.coordinator.tick();
    const run = await h.runs.get(runId);
    expect(run.state).toBe('failed');
    expect(run.jobs.map((job) => [job.id, job.state, job.exitCode])).toEqual([
      ['a', 'done', 0],
      ['b', 'failed', 3],
    ]);
    expect(h.lines).toContainEqual({ line: `run ${runId} finished: failed`, runId });
  });

  it("closes a run as its last job's end is applied, not at the next tick, and once though its last ends arrive together", async () => {
    const h = await harness();
    const { runId } = await h.runs.create(threeJobs);
    h.heartbeat('agent-1', 2);
    h.heartbeat('agent-2', 2);
    await h.coordinator.tick();
    expect((await h.jobs(runId)).map(([, state]) => state)).toEqual(['assigned', 'assigned', 'assigned']);
    expect(await h.report('agent-1', runId, 'b', 1, 'exited', { exitCode: 0 })).toBe('ack');
    expect((await h.runs.get(runId)).state).toBe('running');
    await Promise.all([
      h.report('agent-2', runId, 'a', 1, 'exited', { exitCode: 0 }),
      h.report('agent-2', runId, 'c', 1, 'exited', { exitCode: 1 }),
    ]);
    await vi.waitFor(async () => expect((await h.runs.get(runId)).state).toBe('failed'));
    expect(h.lines.filter(({ line }) => line.startsWith(`run ${runId} finished`))).toEqual([
      { line: `run ${runId} finished: failed`, runId },
    ]);
  });

  it("requeues a lost agent's job after the grace period, on an agent still alive, and ignores the lost attempt's late report", async () => {
    const h = await harness();
    const { runId } = await h.runs.create(twoJobs);
    h.heartbeat('agent-1', 2);
    await h.coordinator.tick();
    await h.report('agent-1', runId, 'b', 1, 'running');
    h.store.expire('agent-1');
    h.heartbeat('agent-2', 4);
    h.advance(LOST_GRACE_MS - 1_000);
    await h.coordinator.tick();
    // Within the grace period (since the coordinator started and since the assignment): still agent-1's.
    expect((await h.jobs(runId))[1]).toEqual(['b', 'running', 1, 'agent-1']);

    h.advance(2_000);
    await h.coordinator.tick();
    expect((await h.jobs(runId))[1]).toEqual(['b', 'assigned', 2, 'agent-2']);
    expect(h.lines).toContainEqual({
      line: `agent agent-1 is gone; ${runId}/b attempt 1 is lost`,
      runId,
      jobId: 'b',
      attempt: 1,
      agentId: 'agent-1',
      level: 'warn',
    });
    expect(h.dispatch.sentTo('agent-2')).toEqual(['a/1', 'b/2']);

    await h.report('agent-1', runId, 'b', 1, 'exited', { exitCode: 0 });
    expect((await h.runs.get(runId)).jobs[1]).toMatchObject({ state: 'assigned', attempt: 2, agentId: 'agent-2', exitCode: null });
  });

  it('a restarted coordinator gives every agent a full grace period to heartbeat before it takes one for lost', async () => {
    const h = await harness();
    const { runId } = await h.runs.create(twoJobs);
    h.heartbeat('agent-1', 2);
    await h.coordinator.tick();
    h.store.expire('agent-1');
    // Down for longer than the grace period: the attempt is long past its own grace when the coordinator is back.
    h.advance(5 * LOST_GRACE_MS);
    const restarted = await h.restart();
    h.heartbeat('agent-2', 4);
    h.advance(LOST_GRACE_MS - 1_000);
    await restarted.coordinator.tick();
    expect((await h.jobs(runId))[1]).toEqual(['b', 'assigned', 1, 'agent-1']);
    h.advance(2_000);
    await restarted.coordinator.tick();
    expect((await h.jobs(runId))[1]).toEqual(['b', 'assigned', 2, 'agent-2']);
    expect(restarted.dispatch.sentTo('agent-2')).toEqual(['a/1', 'b/2']);
  });

  it('asks an agent to stop an attempt it should not run, again after a while, and no more once it stopped', async () => {
    const h = await harness();
    const { runId } = await h.runs.create(threeJobs);
    h.heartbeat('agent-1', 2);
    await h.coordinator.tick();
    await h.report('agent-1', runId, 'b', 1, 'running');
    h.heartbeat('agent-1', 2, { runs: [{ runId, jobId: 'b', attempt: 1 }] });
    await h.runs.cancel(runId, ['b']);
    const stops = () => h.dispatch.stops.map(({ agentId, stop }) => `${agentId} ${stop.jobId}/${stop.attempt}`);

    await h.coordinator.tick();
    expect(stops()).toEqual(['agent-1 b/1']);
    h.advance(1_000);
    await h.coordinator.tick();
    expect(stops()).toEqual(['agent-1 b/1']);
    h.advance(2_500);
    await h.coordinator.tick();
    expect(stops()).toEqual(['agent-1 b/1', 'agent-1 b/1']);

    h.heartbeat('agent-1', 2);
    h.advance(5_000);
    await h.coordinator.tick();
    expect(stops()).toHaveLength(2);
    expect((await h.jobs(runId))[1]).toEqual(['b', 'aborted', 1, 'agent-1']);
  });

  it('gives no work to an agent that gave an attempt up until it stores a heartbeat newer than its report', async () => {
    const h = await harness();
    const { runId } = await h.runs.create(threeJobs);
    h.heartbeat('agent-1', 2);
    await h.coordinator.tick();
    await h.report('agent-1', runId, 'b', 1, 'running');
    const lostAt = h.advance(1_000);
    expect(await h.report('agent-1', runId, 'b', 1, 'lost', { at: lostAt })).toBe('ack');
    await h.coordinator.tick();
    expect((await h.jobs(runId))[1]).toEqual(['b', 'pending', 2, null]);
    expect(h.dispatch.sentTo('agent-1')).toEqual(['b/1']);

    // A heartbeat on its way when it left (stamped before its report) does not take it back.
    h.heartbeat('agent-1', 2, { at: lostAt });
    h.advance(1_000);
    await h.coordinator.tick();
    expect(h.dispatch.sentTo('agent-1')).toEqual(['b/1']);

    h.heartbeat('agent-1', 2, { at: lostAt + 1 });
    await h.coordinator.tick();
    expect(h.dispatch.sentTo('agent-1')).toEqual(['b/1', 'b/2']);
    expect((await h.jobs(runId))[1]).toEqual(['b', 'assigned', 2, 'agent-1']);
  });

  it("an attempt's exited report frees its cpus for the next job at once, while the report is still being stored", async () => {
    const h = await harness();
    const { runId } = await h.runs.create(
      requestOf(
        'project: demo\ninstances: [{cpus: 2}]\njobs:\n  - {name: x, run_command: "true", cpus_req: 2}\n  - {name: y, run_command: "true", cpus_req: 2}\n',
      ),
    );
    h.heartbeat('agent-1', 2);
    await h.coordinator.tick();
    expect(h.dispatch.sentTo('agent-1')).toEqual(['x/1']);
    expect(await h.report('agent-1', runId, 'x', 1, 'running')).toBe('ack');
    const write = h.store.holdNextUpdate('x');
    const settled = h.report('agent-1', runId, 'x', 1, 'exited', { exitCode: 0 });
    await write.reached;
    await h.coordinator.requestPlacement();
    expect(h.dispatch.sentTo('agent-1')).toEqual(['x/1', 'y/1']);
    expect(h.store.current(runId, 'x').state).toBe('running');
    write.release();
    expect(await settled).toBe('ack');
    expect(await h.jobs(runId)).toEqual([
      ['x', 'done', 1, 'agent-1'],
      ['y', 'assigned', 1, 'agent-1'],
    ]);
  });

  it('a job stored as assigned and still being sent to its agent holds its cpus once: a pass meanwhile sees 0 free, not less', async () => {
    const h = await harness();
    const { runId } = await h.runs.create(threeJobs);
    h.heartbeat('agent-1', 2);
    const send = h.dispatch.holdNextSend();
    const ticked = h.coordinator.tick();
    await send.reached;
    expect(h.store.current(runId, 'b').state).toBe('assigned');
    await h.coordinator.requestPlacement();
    expect((await h.runs.get(runId)).jobs[0]!.waiting).toBe(`needs 1 cpu; pool ${POOL} has 0 free of 2`);
    send.release();
    await ticked;
    expect(h.dispatch.sentTo('agent-1')).toEqual(['b/1']);
  });

  it('a placement whose compare-and-set loses to a concurrent cancel sends nothing, and its cpus go to the next job', async () => {
    const h = await harness();
    const { runId } = await h.runs.create(threeJobs);
    h.heartbeat('agent-1', 2);
    // The pass plans b for agent-1; before its write lands, the API cancels b.
    h.store.beforeNextUpdate(() => {
      h.store.overwriteJob(applyJobEvent(h.store.current(runId, 'b'), { type: 'cancel' }, h.now()).job);
    });
    await h.coordinator.tick();
    expect(h.store.lostUpdates).toBe(1);
    expect(h.dispatch.assignments).toEqual([]);
    expect((await h.jobs(runId))[1]).toEqual(['b', 'aborted', 1, null]);

    await h.coordinator.tick();
    expect(await h.jobs(runId)).toEqual([
      ['a', 'assigned', 1, 'agent-1'],
      ['b', 'aborted', 1, null],
      ['c', 'assigned', 1, 'agent-1'],
    ]);
    expect(h.dispatch.sentTo('agent-1')).toEqual(['a/1', 'c/1']);
  });

  it("a report whose write loses to another writer is applied again on that writer's record", async () => {
    const h = await harness();
    const { runId } = await h.runs.create(threeJobs);
    h.heartbeat('agent-1', 2);
    await h.coordinator.tick();
    // A second writer stores b again (as a restarted coordinator's stale view might) just before the report's write.
    h.store.beforeNextUpdate(() => h.store.overwriteJob(h.store.current(runId, 'b')));
    expect(await h.report('agent-1', runId, 'b', 1, 'running')).toBe('ack');
    expect(h.store.lostUpdates).toBe(1);
    expect((await h.jobs(runId))[1]).toEqual(['b', 'running', 1, 'agent-1']);
  });

  it('drops reports that are malformed, sent by an agent other than the one they name, or about an attempt on another agent', async () => {
    const h = await harness();
    const { runId } = await h.runs.create(threeJobs);
    h.heartbeat('agent-1', 2);
    await h.coordinator.tick();
    expect(await h.dispatch.deliver(names.eventSubject('agent-1', runId, 'b'), new TextEncoder().encode('{"v":1,"type":"exited"'))).toBe(
      'term',
    );
    const exited = { v: 1, runId, jobId: 'b', attempt: 1, agentId: 'agent-1', type: 'exited', exitCode: 0, at: h.now() } as const;
    expect(await h.dispatch.report(exited, 'agent-9')).toBe('term');
    expect(await h.dispatch.report({ ...exited, agentId: 'agent-9' })).toBe('ack');
    expect(h.lines.map((entry) => entry.line)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^dropping a malformed report on /),
        `dropping a report on ${names.eventSubject('agent-9', runId, 'b')}: it names agent agent-1 but agent agent-9 sent it`,
        `${runId}/b: report from agent agent-9, but attempt 1 is on agent agent-1; dropped`,
      ]),
    );
    expect((await h.jobs(runId))[1]).toEqual(['b', 'assigned', 1, 'agent-1']);
  });

  it("forgets a gone agent's queue and its unclaimed assignments a minute after its heartbeat went", async () => {
    const h = await harness();
    await h.runs.create(threeJobs);
    h.heartbeat('agent-1', 2);
    h.dispatch.openQueue('agent-1');
    await h.coordinator.tick();
    expect(h.dispatch.queued('agent-1')).toBe(1);
    h.store.expire('agent-1');
    h.advance(LOST_GRACE_MS + 1_000);
    await h.coordinator.tick();
    expect(h.dispatch.queued('agent-1')).toBe(1);
    h.advance(61_000);
    await h.coordinator.tick();
    expect(h.dispatch.queued('agent-1')).toBeUndefined();
    expect(h.lines.map((entry) => entry.line)).toContain(
      `forgot gone agent's consumer ${names.agentConsumer('agent-1')} and its unclaimed assignments`,
    );
  });
});
