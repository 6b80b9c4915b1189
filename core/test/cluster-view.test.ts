import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyJobEvent, ClusterView, type JobEvent, type JobRecord, type Versioned } from '../src/index.js';
import { jobRecord } from '../src/testing/index.js';

/** A job record as a run stores it, before any event. */
function newJob(runId: string, index: number): JobRecord {
  // The last two wait on dependencies, as jobs with depends_on start.
  return jobRecord({ runId, id: `j${index}`, index, retries: 1, maxAttempts: 2, state: index >= 3 ? 'blocked' : 'pending', createdAt: 1 });
}

const events: fc.Arbitrary<JobEvent>[] = [
  fc.constantFrom('a0', 'a1').map((agentId) => ({ type: 'assign' as const, agentId })),
  fc.integer({ min: 1, max: 3 }).map((attempt) => ({ type: 'running' as const, attempt })),
  fc.record({ attempt: fc.integer({ min: 1, max: 3 }), exitCode: fc.constantFrom(0, 1) }).map((e) => ({ type: 'exited' as const, ...e })),
  fc.integer({ min: 1, max: 3 }).map((attempt) => ({ type: 'agent_lost' as const, attempt })),
  fc.constant({ type: 'cancel' as const }),
  fc.constant({ type: 'release' as const }),
  fc.constant({ type: 'skip' as const, message: 'a dependency failed' }),
];

/** What the view shows, in a form two views can be compared by. */
function picture(view: ClusterView<{ id: string; state: 'running'; createdAt: number }>, runs: string[]) {
  return {
    jobs: view.jobs().map((entry) => [entry.revision, entry.value]),
    pending: runs.map((runId) => view.pendingJobs(runId).map((entry) => entry.value.id)),
    pendingSizes: runs.map((runId) => view.pendingSizeCount(runId)),
    active: view
      .activeJobs()
      .map((entry) => `${entry.value.runId}.${entry.value.id}`)
      .sort(),
    unfinished: runs.map((runId) => view.unfinished(runId)),
    blocked: runs.map((runId) => view.blocked(runId)),
  };
}

describe('the coordinator view', () => {
  it("reads a run's pending jobs in config order, however they came in, and counts their sizes", () => {
    const view = new ClusterView<{ id: string; state: 'running'; createdAt: number }>();
    let revision = 0;
    const put = (job: JobRecord) => view.putJob({ value: job, revision: ++revision });
    for (const index of [2, 0, 1]) put(newJob('r', index));
    expect([...view.pendingInOrder('r')].map((entry) => entry.value.id)).toEqual(['j0', 'j1', 'j2']);
    put({ ...newJob('r', 0), state: 'assigned', agentId: 'a0' });
    put({ ...newJob('r', 5), state: 'pending', cpusReq: 2 });
    expect(view.pendingSizeCount('r')).toBe(2);
    // Back in the queue after the ones behind it: still read in config order.
    put({ ...newJob('r', 0), attempt: 2 });
    expect(view.pendingJobs('r').map((entry) => entry.value.id)).toEqual(['j0', 'j1', 'j2', 'j5']);
    put({ ...newJob('r', 5), state: 'aborted' });
    expect(view.pendingSizeCount('r')).toBe(1);
    expect(view.pendingJobs('r').map((entry) => entry.value.id)).toEqual(['j0', 'j1', 'j2']);
  });

  it('any sequence of events applied as they happen gives the view rebuilt from the last records alone, in any order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 4 }), fc.oneof(...events)), { maxLength: 80 }),
        fc.integer({ min: 0, max: 1_000 }),
        (steps, seed) => {
          const runs = ['r-a', 'r-b'];
          let revision = 0;
          const live = new ClusterView<{ id: string; state: 'running'; createdAt: number }>();
          const stored = new Map<string, Versioned<JobRecord>>();
          const write = (job: JobRecord) => {
            const entry = { value: job, revision: ++revision };
            stored.set(`${job.runId}.${job.id}`, entry);
            live.putJob(entry);
          };
          for (const runId of runs) for (let index = 0; index < 5; index++) write(newJob(runId, index));
          for (const [run, index, event] of steps) {
            const current = stored.get(`${runs[run]}.j${index}`)!.value;
            const result = applyJobEvent(current, event, revision);
            if (result.changed) write(result.job);
            // A stale copy seen late (a watch delivering an older revision) changes nothing.
            live.putJob({ value: current, revision: 1 });
          }
          const finals = [...stored.values()];
          const rebuilt = new ClusterView<{ id: string; state: 'running'; createdAt: number }>();
          const order = finals.map((entry, i) => [((i + 1) * (seed + 7919)) % 10_007, entry] as const).sort((a, b) => a[0] - b[0]);
          for (const [, entry] of order) rebuilt.putJob(entry);
          expect(picture(rebuilt, runs)).toEqual(picture(live, runs));
          for (const runId of runs) {
            const jobs = finals.filter((entry) => entry.value.runId === runId).map((entry) => entry.value);
            expect(live.unfinished(runId)).toBe(jobs.filter((job) => !['done', 'failed', 'aborted', 'skipped'].includes(job.state)).length);
            expect(live.blocked(runId)).toBe(jobs.filter((job) => job.state === 'blocked').length);
            expect(live.pendingJobs(runId).map((entry) => entry.value.id)).toEqual(
              jobs.filter((job) => job.state === 'pending').map((job) => job.id),
            );
          }
        },
      ),
    );
  });

  it('takes a run record only when it is newer than the one held', () => {
    const view = new ClusterView<{ id: string; state: 'running' | 'done'; createdAt: number }>();
    expect(view.putRun({ value: { id: 'r', state: 'running', createdAt: 1 }, revision: 2 })).toBe(true);
    expect(view.putRun({ value: { id: 'r', state: 'done', createdAt: 1 }, revision: 1 })).toBe(false);
    expect(view.run('r')?.state).toBe('running');
    view.deleteRun('r', 3);
    expect(view.allRuns()).toEqual([]);
  });
});
