import { describe, expect, it, vi } from 'vitest';
import type { AgentView, JobView, RunView } from '@katapult/core';
import { jobView } from '@katapult/core/testing';
import { watchRun } from '../../src/follow/watch-run.js';
import type { FollowEvent } from '../../src/follow/follow-events.js';
import type { CoordinatorClient } from '../../src/stack/client.js';
import { followEventLine } from '../../src/lines/follow-lines.js';

const T0 = Date.UTC(2026, 10, 25, 8, 15, 2);

function job(id: string, patch: Partial<JobView> = {}): JobView {
  return jobView({ id, runId: 'r-1', envName: 'base', createdAt: T0, ...patch });
}

function run(state: RunView['state'], jobs: JobView[]): RunView {
  return { id: 'r-1', project: 'hello', configFile: 'katapult.yaml', state, createdAt: T0, finishedAt: null, jobs };
}

const agent = { id: 'local-0', pool: null, cpus: 2, usedCpus: 1 } as unknown as AgentView;

/** A coordinator that answers each getRun with the next view, then the last one again. */
function coordinator(views: RunView[]): Pick<CoordinatorClient, 'getRun' | 'listAgents'> {
  let next = 0;
  return {
    getRun: async () => views[Math.min(next++, views.length - 1)]!,
    listAgents: async () => [agent],
  };
}

describe('watchRun', () => {
  it('reports each job whose state or attempt changed, once, as typed events, and returns the run once it is over', async () => {
    const events: FollowEvent[] = [];
    const views = [
      run('running', [job('a'), job('b')]),
      run('running', [job('a', { state: 'running', agentId: 'local-0' }), job('b')]),
      run('running', [job('a', { state: 'running', agentId: 'local-0' }), job('b', { state: 'running', agentId: 'local-0', attempt: 2 })]),
      run('failed', [
        job('a', { state: 'done', agentId: 'local-0', exitCode: 0 }),
        job('b', { state: 'failed', agentId: 'local-0', attempt: 2, exitCode: 3, message: 'boom' }),
      ]),
    ];
    const final = await watchRun(coordinator(views) as CoordinatorClient, 'r-1', (event) => events.push(event), {
      agentLogHint: '-',
      intervalMs: 0,
    });
    expect(final).toBe(views[3]);
    expect(events.map((event) => event.type)).toEqual(['job-changed', 'job-changed', 'job-changed', 'job-changed']);
    expect(events.map(followEventLine)).toEqual([
      'a running on local-0',
      'b running on local-0 (attempt 2)',
      'a done on local-0',
      'b failed on local-0 (exit 3: boom)',
    ]);
  });

  it('a summary redrawn in place ends on how the run ended: a final summary event after the last change', async () => {
    const events: FollowEvent[] = [];
    const going = run('running', [job('a', { state: 'running', agentId: 'local-0' })]);
    const views = [going, going, run('done', [job('a', { state: 'done', agentId: 'local-0', exitCode: 0 })])];
    let now = T0;
    // Ten quiet seconds pass between polls, so the second poll (nothing changed) is due a summary; time is moved, not waited for.
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const client = coordinator(views);
      const getRun = client.getRun;
      client.getRun = async (id) => {
        const view = await getRun(id);
        now += 10_001;
        return view;
      };
      await watchRun(client as CoordinatorClient, 'r-1', (event) => events.push(event), {
        agentLogHint: '-',
        intervalMs: 0,
        summaryInPlace: true,
      });
    } finally {
      clock.mockRestore();
    }
    const summaries = events.filter((event) => event.type === 'summary');
    expect(summaries.map((event) => event.final)).toEqual([false, true]);
    expect(followEventLine(summaries[0]!)).toBe('1 running · 1 instance up, 1/2 cpus busy');
    expect(followEventLine(summaries[1]!)).toBe('1 done · 1 instance up, 1/2 cpus busy');
  });
});
