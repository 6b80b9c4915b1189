import { describe, expect, it } from 'vitest';
import type { JobView, RunView } from '@katapult/core';
import { jobView } from '@katapult/core/testing';
import { CostEstimator } from '@katapult/launcher/launch/cost-estimator';
import { describeChanges, summarizeRun } from '@katapult/launcher/lines/follow-lines';
import { renderRun, runProgressBar } from '../src/render/run-view.js';

const T0 = Date.UTC(2026, 10, 25, 8, 15, 2);
const RUN_ID = 'r-20261125-081502-3fa9';

function job(id: string, patch: Partial<JobView>): JobView {
  return jobView({ id, runId: RUN_ID, envName: 'base', createdAt: T0, ...patch });
}

const running: RunView = {
  id: RUN_ID,
  project: 'hello',
  configFile: 'examples/hello/katapult.yaml',
  state: 'running',
  createdAt: T0,
  finishedAt: null,
  jobs: [
    job('greet', {
      state: 'done',
      agentId: 'local-0-1a2b',
      pool: 'hello/1a2b3c4d',
      exitCode: 0,
      reason: 'exit_zero',
      startedAt: T0 + 1_000,
      finishedAt: T0 + 2_300,
    }),
    job('count-1', { state: 'running', agentId: 'local-0-1a2b', pool: 'hello/1a2b3c4d', startedAt: T0 + 1_200 }),
    job('count-2', { state: 'pulling', agentId: 'local-1-9f8e', pool: 'hello/1a2b3c4d' }),
    job('simulation-long-name', {
      envName: 'science',
      state: 'pending',
      attempt: 2,
      reason: 'agent_lost',
      waiting: 'needs 2 cpus; pool hello/1a2b3c4d has 0 free of 2',
    }),
    job('broken', {
      state: 'failed',
      agentId: 'local-1-9f8e',
      pool: 'hello/1a2b3c4d',
      exitCode: 3,
      reason: 'exit_nonzero',
      startedAt: T0 + 1_000,
      finishedAt: T0 + 126_400,
    }),
  ],
};
const NOW = T0 + 4_000;

describe('status and the end of launch', () => {
  it('a header with the count of jobs in each state, then one row per job in config order', () => {
    expect(renderRun(running, NOW)).toMatchInlineSnapshot(`
      "run r-20261125-081502-3fa9 (hello, examples/hello/katapult.yaml): running — 1 pending, 1 pulling, 1 running, 1 done, 1 failed
      JOB                   ENV      AGENT         POOL            STATE    ATTEMPT  EXIT  DURATION
      greet                 base     local-0-1a2b  hello/1a2b3c4d  done     1        0     1.3s
      count-1               base     local-0-1a2b  hello/1a2b3c4d  running  1        -     2.8s
      count-2               base     local-1-9f8e  hello/1a2b3c4d  pulling  1        -     -
      simulation-long-name  science  -             -               pending  2        -     -
      broken                base     local-1-9f8e  hello/1a2b3c4d  failed   1        3     2m5s
      1 pending: needs 2 cpus; pool hello/1a2b3c4d has 0 free of 2"
    `);
  });

  it('a finished run, every job ended', () => {
    const over: RunView = {
      ...running,
      state: 'aborted',
      finishedAt: T0 + 9_000,
      jobs: [
        job('greet', { state: 'done', agentId: 'local-0-1a2b', exitCode: 0, startedAt: T0, finishedAt: T0 + 59_960 }),
        job('nap', {
          state: 'aborted',
          agentId: 'local-0-1a2b',
          exitCode: 137,
          reason: 'cancelled',
          startedAt: T0,
          finishedAt: T0 + 3_600_000,
        }),
        job('never', { state: 'aborted', reason: 'cancelled', finishedAt: T0 + 1_000 }),
      ],
    };
    expect(renderRun(over, NOW)).toMatchInlineSnapshot(`
      "run r-20261125-081502-3fa9 (hello, examples/hello/katapult.yaml): aborted — 1 done, 2 aborted
      JOB    ENV   AGENT         POOL  STATE    ATTEMPT  EXIT  DURATION
      greet  base  local-0-1a2b  -     done     1        0     1m0s
      nap    base  local-0-1a2b  -     aborted  1        137   60m0s
      never  base  -             -     aborted  1        -     -"
    `);
  });
});

describe('a sweep of many jobs', () => {
  const sweep: RunView = {
    ...running,
    jobs: Array.from({ length: 60 }, (_, i) =>
      job(
        `t-${i + 1}`,
        i < 55 ? { state: 'done', exitCode: 0 } : i < 58 ? { state: 'running', agentId: 'local-0-1a2b' } : { state: 'failed', exitCode: 1 },
      ),
    ),
  };

  it('status shows the jobs not done and says how many it left out; --all-jobs shows every one', () => {
    const lines = renderRun(sweep, NOW).split('\n');
    expect(lines.slice(2).map((line) => line.split(/ +/)[0])).toEqual(['t-56', 't-57', 't-58', 't-59', 't-60', '55']);
    expect(lines.at(-1)).toBe('55 more jobs not shown (55 of them done); katapult status --all-jobs lists every job');
    expect(renderRun(sweep, NOW, { allJobs: true }).split('\n')).toHaveLength(62);
  });

  it('launch gives a line of its own only to a job that failed', () => {
    const before: RunView = { ...sweep, jobs: sweep.jobs.map((j) => ({ ...j, state: 'running' as const })) };
    expect(describeChanges(before, sweep)).toEqual(['t-59 failed (exit 1)', 't-60 failed (exit 1)']);
  });
});

describe("launch's progress lines", () => {
  it('one line per job whose state or attempt changed; new pending jobs are not news', () => {
    const before: RunView = { ...running, jobs: running.jobs.map((entry) => ({ ...entry, state: 'pending', agentId: null, attempt: 1 })) };
    expect(describeChanges(undefined, before)).toEqual([]);
    expect(describeChanges(before, running)).toMatchInlineSnapshot(`
      [
        "greet done on local-0-1a2b",
        "count-1 running on local-0-1a2b",
        "count-2 pulling on local-1-9f8e",
        "simulation-long-name pending (attempt 2)",
        "broken failed on local-1-9f8e (exit 3)",
      ]
    `);
  });

  it("a summary by state, in the order of a job's life, with the instances up and their busy cpus", () => {
    expect(
      summarizeRun(running, [
        { cpus: 2, usedCpus: 2 },
        { cpus: 2, usedCpus: 1 },
      ]),
    ).toBe(
      '1 pending, 1 pulling, 1 running, 1 done, 1 failed · 2 instances up, 3/4 cpus busy · 1 pending: needs 2 cpus; pool hello/1a2b3c4d has 0 free of 2',
    );
    expect(summarizeRun({ ...running, jobs: running.jobs.slice(3, 4) }, [])).toBe(
      '1 pending · no instance up yet · 1 pending: needs 2 cpus; pool hello/1a2b3c4d has 0 free of 2',
    );
  });

  it('adds the busy GPUs when an instance has any', () => {
    const agents = [
      { cpus: 4, usedCpus: 2, gpus: 2, usedGpus: 1 },
      { cpus: 2, usedCpus: 1, gpus: 0, usedGpus: 0 },
    ];
    expect(summarizeRun(running, agents)).toBe(
      '1 pending, 1 pulling, 1 running, 1 done, 1 failed · 2 instances up, 3/6 cpus, 1/2 gpus busy · 1 pending: needs 2 cpus; pool hello/1a2b3c4d has 0 free of 2',
    );
  });

  it('on AWS, the cost so far and per hour of the instances follow, from their prices', async () => {
    const instances = [
      {
        group: 0,
        type: 'c5.xlarge',
        cpus: 4,
        cpusGiven: true,
        number: 2,
        eco: true,
        ecoLife: null,
        ecoFallback: true,
        maxBid: null,
        region: 'eu-west-3',
        imgId: null,
        gpu: null,
        diskSize: null,
        diskType: null,
        explode: true,
        memoryBytes: null,
      },
    ];
    const costs = new CostEstimator(instances, {
      price: async (type, market) => (type === 'c5.xlarge' && market === 'spot' ? 0.0712 : Promise.reject(new Error('unexpected'))),
    });
    const agents = [
      { cpus: 4, usedCpus: 4 },
      { cpus: 4, usedCpus: 0 },
    ];
    expect(summarizeRun(running, agents, costs.estimate(600_000))).toBe(
      '1 pending, 1 pulling, 1 running, 1 done, 1 failed · 2 instances up, 4/8 cpus busy · 1 pending: needs 2 cpus; pool hello/1a2b3c4d has 0 free of 2 · cost estimate unavailable: AWS prices are being looked up',
    );
    await costs.load();
    expect(summarizeRun(running, agents, costs.estimate(45 * 60_000))).toBe(
      '1 pending, 1 pulling, 1 running, 1 done, 1 failed · 2 instances up, 4/8 cpus busy · 1 pending: needs 2 cpus; pool hello/1a2b3c4d has 0 free of 2 · ~$0.11 so far, $0.14/h',
    );
    const failing = new CostEstimator(instances, {
      price: () => Promise.reject(new Error('Pricing GetProducts: no AWS credentials found')),
    });
    await failing.load();
    expect(summarizeRun(running, agents, failing.estimate(60_000))).toBe(
      '1 pending, 1 pulling, 1 running, 1 done, 1 failed · 2 instances up, 4/8 cpus busy · 1 pending: needs 2 cpus; pool hello/1a2b3c4d has 0 free of 2 · cost estimate unavailable: Pricing GetProducts: no AWS credentials found',
    );
  });
});

describe('what the table cannot say', () => {
  it('a job killed at its timeout gets a line saying so under the table', () => {
    const run: RunView = {
      ...running,
      state: 'failed',
      jobs: [
        job('slow', {
          state: 'failed',
          exitCode: 137,
          reason: 'timeout',
          message: 'killed: it ran past its timeout of 2s',
          startedAt: T0,
          finishedAt: T0 + 2_100,
        }),
      ],
    };
    expect(renderRun(run, NOW).split('\n').at(-1)).toBe('slow: failed: timeout (killed: it ran past its timeout of 2s)');
  });
});

describe('attempts', () => {
  it('a job tried more than once gets a line with how each attempt ended', () => {
    const run: RunView = {
      ...running,
      jobs: [
        job('flaky', {
          state: 'done',
          attempt: 3,
          exitCode: 0,
          reason: 'exit_zero',
          attempts: [
            { attempt: 1, agentId: 'local-0-1a2b', reason: 'exit_nonzero', exitCode: 75 },
            { attempt: 2, agentId: 'local-0-1a2b', reason: 'agent_lost', exitCode: null },
            { attempt: 3, agentId: 'local-1-9f8e', reason: 'exit_zero', exitCode: 0 },
          ],
        }),
        job('again', {
          state: 'running',
          attempt: 2,
          attempts: [{ attempt: 1, agentId: 'local-0-1a2b', reason: 'timeout', exitCode: 137 }],
        }),
        job('once', {
          state: 'failed',
          exitCode: 3,
          reason: 'exit_nonzero',
          message: 'exit code 3 is not one of retry_on_exit_codes (75): not retried',
          attempts: [{ attempt: 1, agentId: 'a', reason: 'exit_nonzero', exitCode: 3 }],
        }),
      ],
    };
    expect(renderRun(run, NOW).split('\n').slice(-3)).toEqual([
      'flaky: attempt 1 exit 75 · attempt 2 lost (local-0-1a2b) · attempt 3 exit 0',
      'again: attempt 1 timeout · attempt 2 running',
      'once: exit code 3 is not one of retry_on_exit_codes (75): not retried',
    ]);
  });
});

describe('runProgressBar', () => {
  it('fills one cell per twentieth of the jobs that ended', () => {
    const jobs = (states: string[]) => ({ jobs: states.map((state) => ({ state })) }) as unknown as Parameters<typeof runProgressBar>[0];
    expect(runProgressBar(jobs(['done', 'failed', 'running', 'pending']))).toBe('[##########----------] 2/4');
    expect(runProgressBar(jobs(['skipped', 'aborted']), 4)).toBe('[####] 2/2');
    expect(runProgressBar(jobs([]), 4)).toBe('[####] 0/0');
  });
});
