import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatOffset, timelineLayout, timelineSvg, type TimelineJob } from '../src/index.js';

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const job = (id: string, patch: Partial<TimelineJob>): TimelineJob => ({
  id,
  state: 'done',
  agentId: null,
  attempt: 1,
  createdAt: T0,
  assignedAt: null,
  pullingAt: null,
  startedAt: null,
  finishedAt: null,
  exitCode: null,
  cpus: 1,
  ...patch,
});

/** 20 jobs of 1 cpu on 2 agents of 2 cpus: each agent runs two at a time, 5 s each, after a 1 s pull. */
function twentyJobs(): TimelineJob[] {
  return Array.from({ length: 20 }, (_, index) => {
    const agent = index % 2 === 0 ? 'local-0' : 'local-1';
    const wave = Math.floor(index / 4);
    const assignedAt = T0 + wave * 6_000;
    const last = index === 19;
    return job(`sim-${index + 1}`, {
      agentId: agent,
      assignedAt,
      pullingAt: assignedAt,
      startedAt: assignedAt + 1_000,
      finishedAt: assignedAt + 6_000,
      state: last ? 'failed' : 'done',
      exitCode: last ? 3 : 0,
    });
  });
}

describe('the timeline of a run', () => {
  it('puts 20 jobs on 2 agents in one lane each, two rows deep, with their pulling and running parts', () => {
    const layout = timelineLayout(twentyJobs(), T0 + 60_000);
    expect(layout.start).toBe(T0);
    expect(layout.end).toBe(T0 + 30_000);
    expect(layout.lanes.map((lane) => [lane.agentId, lane.rows, lane.bars.length])).toEqual([
      ['local-0', 2, 10],
      ['local-1', 2, 10],
    ]);
    const first = layout.lanes[0]!.bars[0]!;
    expect(first).toEqual({
      job: 'sim-1',
      state: 'done',
      row: 0,
      segments: [
        { phase: 'pulling', from: T0, to: T0 + 1_000 },
        { phase: 'running', from: T0 + 1_000, to: T0 + 6_000 },
      ],
      summary: 'sim-1: queued 0.0s, pulling 1.0s, running 5.0s, done (exit code 0)',
    });
    // A wave starts as the one before ends: its bars reuse the rows.
    expect(layout.lanes[0]!.bars.map((bar) => bar.row)).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    expect(layout.maxCpus).toBe(4);
    expect(layout.cpus.slice(0, 3)).toEqual([
      { at: T0 + 1_000, value: 4 },
      { at: T0 + 6_000, value: 0 },
      { at: T0 + 7_000, value: 4 },
    ]);
    // Every job is created at T0 and waits for its wave; the first wave is placed at once.
    expect(layout.maxQueued).toBe(16);
    expect(layout.queued.at(-1)).toEqual({ at: T0 + 24_000, value: 0 });
  });

  it('shows jobs not placed yet in a lane of their own, waiting until now, and counts a running job until now', () => {
    const now = T0 + 10_000;
    const layout = timelineLayout(
      [
        job('waits', { state: 'pending' }),
        job('runs', { state: 'running', agentId: 'a', assignedAt: T0 + 2_000, startedAt: T0 + 3_000, cpus: 2 }),
      ],
      now,
    );
    expect(layout.lanes.map((lane) => lane.agentId)).toEqual(['a', null]);
    expect(layout.lanes[1]!.bars[0]!.segments).toEqual([{ phase: 'queued', from: T0, to: now }]);
    // No pulling time recorded (an older record): pulling counts from the assignment.
    expect(layout.lanes[0]!.bars[0]!.segments).toEqual([
      { phase: 'pulling', from: T0 + 2_000, to: T0 + 3_000 },
      { phase: 'running', from: T0 + 3_000, to: now },
    ]);
    expect(layout.cpus).toEqual([{ at: T0 + 3_000, value: 2 }]);
  });

  it('draws one group per job with its tooltip, the legend, the axis and both charts, all text escaped', () => {
    const jobs = twentyJobs();
    jobs[0] = { ...jobs[0]!, id: 'a<b>&"c"' };
    const svg = timelineSvg(timelineLayout(jobs, T0 + 30_000), { title: 'run r-1 <test>' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="1000" ')).toBe(true);
    expect(svg.match(/<g class="bar" /g)).toHaveLength(20);
    expect(svg.match(/data-phase="running"/g)).toHaveLength(20);
    expect(svg).toContain('<title>a&lt;b&gt;&amp;&quot;c&quot;: queued 0.0s, pulling 1.0s, running 5.0s, done (exit code 0)</title>');
    expect(svg).toContain('data-job="a&lt;b&gt;&amp;&quot;c&quot;"');
    expect(svg).toContain('run r-1 &lt;test&gt;');
    expect(svg).toContain('<g class="bar" data-job="sim-20" data-state="failed">');
    expect(svg).toMatch(/data-phase="running" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="12" rx="2" fill="#cf222e"/);
    expect(svg).toContain('data-chart="cpus"');
    expect(svg).toContain('at most 4');
    expect([...svg.matchAll(/text-anchor="middle" fill="#57606a">([^<]+)</g)].map((match) => match[1])).toEqual([
      '0s',
      '5s',
      '10s',
      '15s',
      '20s',
      '25s',
      '30s',
    ]);
    expect(svg).not.toMatch(/style=|<style/);
  });

  it('writes offsets as people read them', () => {
    expect([0, 45_000, 120_000, 150_000, 3_900_000, 7_200_000].map(formatOffset)).toEqual(['0s', '45s', '2m', '2m30s', '1h5m', '2h']);
  });

  it('stacks each bar on the first row free at its start, as a scan of every row would', () => {
    const bars = fc.array(
      fc.record({
        start: fc.integer({ min: 0, max: 50 }),
        length: fc.integer({ min: 0, max: 20 }),
        agent: fc.constantFrom('a', 'b', null),
      }),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(bars, (drawn) => {
        const jobs = drawn.map(({ start, length, agent }, index) =>
          agent === null
            ? job(`j${index}`, { state: 'aborted', createdAt: T0 + start, finishedAt: T0 + start + length })
            : job(`j${index}`, { agentId: agent, assignedAt: T0 + start, startedAt: T0 + start, finishedAt: T0 + start + length }),
        );
        for (const lane of timelineLayout(jobs, T0 + 100).lanes) {
          const rowEnds: number[] = [];
          const expected = lane.bars.map((bar) => {
            const from = bar.segments[0]!.from;
            let row = rowEnds.findIndex((end) => end <= from);
            if (row === -1) row = rowEnds.push(bar.segments.at(-1)!.to) - 1;
            else rowEnds[row] = bar.segments.at(-1)!.to;
            return row;
          });
          expect(lane.bars.map((bar) => bar.row)).toEqual(expected);
          expect(lane.rows).toBe(Math.max(1, rowEnds.length));
        }
      }),
    );
  });

  it('lays out 150,000 jobs waiting at once, each on a row of its own', () => {
    const waiting = Array.from({ length: 150_000 }, (_, index) => job(`j${index}`, { state: 'pending', createdAt: T0 + index }));
    const layout = timelineLayout(waiting, T0 + 200_000);
    expect(layout.lanes).toHaveLength(1);
    expect(layout.lanes[0]!.rows).toBe(150_000);
    expect(layout.maxQueued).toBe(150_000);
  });
});
