import type { JobView } from '../protocol/api.js';

/** What the timeline reads of a job: its states' timestamps (epoch ms) and where it ran. */
export type TimelineJob = Pick<JobView, 'id' | 'state' | 'agentId' | 'attempt' | 'createdAt' | 'startedAt' | 'finishedAt' | 'exitCode'> &
  Partial<Pick<JobView, 'assignedAt' | 'pullingAt' | 'cpus'>>;

export type TimelinePhase = 'queued' | 'pulling' | 'running';

export interface TimelineSegment {
  phase: TimelinePhase;
  from: number;
  to: number;
}

export interface TimelineBar {
  job: string;
  state: JobView['state'];
  /** The row within its lane: bars of one agent that overlap in time are stacked. */
  row: number;
  segments: TimelineSegment[];
  /** One line for a tooltip: `sim-3: queued 2.1s, pulling 0.4s, running 3.0s, done (exit code 0)`. */
  summary: string;
}

export interface TimelineLane {
  /** The agent, or null for the jobs no agent has taken yet. */
  agentId: string | null;
  rows: number;
  bars: TimelineBar[];
}

export interface TimelineLayout {
  start: number;
  end: number;
  lanes: TimelineLane[];
  /** Cpus held by running jobs: a step function, each point holding until the next. */
  cpus: { at: number; value: number }[];
  /** Jobs waiting for an agent, over time, as `cpus`. */
  queued: { at: number; value: number }[];
  maxCpus: number;
  maxQueued: number;
}

/**
 * Lays a run's jobs out on a timeline, one lane per agent: each job a bar of its last attempt (pulling, then
 * running, in the colour of its state), bars that overlap in time stacked into rows. The wait before an agent
 * takes a job is a bar of its own in the lane of jobs not placed yet while it waits, and a series (jobs queued)
 * for every job. `now` ends what has not ended. Pure: the CLI's SVG and the dashboard draw the same layout.
 */
export function timelineLayout(jobs: readonly TimelineJob[], now: number): TimelineLayout {
  // Loops, not Math.min(...spread): a run may hold more jobs than a call takes arguments.
  let start = jobs.length === 0 ? now : Infinity;
  for (const job of jobs) start = Math.min(start, job.createdAt);
  let end = start + 1;
  for (const job of jobs) end = Math.max(end, job.finishedAt ?? now);
  const byAgent = new Map<string | null, TimelineJob[]>();
  for (const job of jobs) {
    const placed = job.agentId !== null && (job.assignedAt ?? job.startedAt ?? null) !== null;
    const key = placed ? job.agentId : null;
    const lane = byAgent.get(key);
    if (lane) lane.push(job);
    else byAgent.set(key, [job]);
  }
  const agents = [...byAgent.keys()].filter((agent): agent is string => agent !== null).sort();
  const lanes: TimelineLane[] = [...agents, ...(byAgent.has(null) ? [null] : [])].map((agentId) =>
    packLane(agentId, byAgent.get(agentId)!, now),
  );
  return { start, end, lanes, ...series(jobs) };
}

function segmentsOf(job: TimelineJob, now: number): TimelineSegment[] {
  const finished = job.finishedAt ?? now;
  const assigned = job.assignedAt ?? job.pullingAt ?? job.startedAt ?? null;
  if (job.agentId === null || assigned === null) {
    // Not placed (pending, or cancelled before an agent took it): all of it was waiting.
    return [{ phase: 'queued', from: job.createdAt, to: finished }];
  }
  const segments: TimelineSegment[] = [];
  const pulling = job.pullingAt ?? assigned;
  const running = job.startedAt ?? null;
  const pullEnd = running ?? finished;
  if (pullEnd > pulling) segments.push({ phase: 'pulling', from: pulling, to: pullEnd });
  if (running !== null) segments.push({ phase: 'running', from: running, to: Math.max(running, finished) });
  if (segments.length === 0) segments.push({ phase: 'pulling', from: assigned, to: Math.max(assigned, finished) });
  return segments;
}

/**
 * Greedy interval partitioning, by start: each bar goes on the first row free by then. Bars come by start, so a row
 * once free stays free for every later bar until it is taken: busy rows wait in a heap by end, free ones in a heap by
 * index (a lane of 10,000 queued jobs is as many rows; a scan of every row per bar took seconds).
 */
function packLane(agentId: string | null, jobs: TimelineJob[], now: number): TimelineLane {
  const laid = jobs
    .map((job) => ({ job, segments: segmentsOf(job, now) }))
    .sort((a, b) => a.segments[0]!.from - b.segments[0]!.from || a.job.id.localeCompare(b.job.id));
  const busy = new MinHeap<{ end: number; row: number }>((a, b) => a.end - b.end);
  const free = new MinHeap<number>((a, b) => a - b);
  let rows = 0;
  const bars = laid.map(({ job, segments }) => {
    const from = segments[0]!.from;
    const to = segments.at(-1)!.to;
    while (busy.peek() !== undefined && busy.peek()!.end <= from) free.push(busy.pop()!.row);
    const row = free.pop() ?? rows++;
    busy.push({ end: to, row });
    return { job: job.id, state: job.state, row, segments, summary: summaryOf(job, now) };
  });
  return { agentId, rows: Math.max(1, rows), bars };
}

class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => number) {}

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    let at = items.push(item) - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (this.before(items[at]!, items[parent]!) >= 0) break;
      [items[at], items[parent]] = [items[parent]!, items[at]!];
      at = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let at = 0;
      for (;;) {
        const left = 2 * at + 1;
        const right = left + 1;
        let least = at;
        if (left < items.length && this.before(items[left]!, items[least]!) < 0) least = left;
        if (right < items.length && this.before(items[right]!, items[least]!) < 0) least = right;
        if (least === at) break;
        [items[at], items[least]] = [items[least]!, items[at]!];
        at = least;
      }
    }
    return top;
  }
}

function summaryOf(job: TimelineJob, now: number): string {
  const finished = job.finishedAt ?? now;
  const assigned = job.assignedAt ?? job.pullingAt ?? job.startedAt ?? null;
  const parts = [`queued ${seconds((assigned ?? finished) - job.createdAt)}`];
  if (assigned !== null) {
    const pulling = job.pullingAt ?? assigned;
    parts.push(`pulling ${seconds((job.startedAt ?? finished) - pulling)}`);
  }
  if (job.startedAt !== null) parts.push(`running ${seconds(finished - job.startedAt)}`);
  const exit = job.exitCode === null ? '' : ` (exit code ${job.exitCode})`;
  const attempt = job.attempt > 1 ? `, attempt ${job.attempt}` : '';
  return `${job.id}: ${parts.join(', ')}, ${job.state}${exit}${attempt}`;
}

const seconds = (ms: number) => `${(Math.max(0, ms) / 1000).toFixed(1)}s`;

/** Step series of cpus in use (running jobs) and of jobs waiting for an agent. */
function series(jobs: readonly TimelineJob[]): Pick<TimelineLayout, 'cpus' | 'queued' | 'maxCpus' | 'maxQueued'> {
  const cpuChanges: [number, number][] = [];
  const queueChanges: [number, number][] = [];
  for (const job of jobs) {
    // What has not ended holds until now, the chart's end: no step down for it.
    if (job.startedAt !== null) {
      cpuChanges.push([job.startedAt, job.cpus ?? 1]);
      if (job.finishedAt !== null) cpuChanges.push([Math.max(job.startedAt, job.finishedAt), -(job.cpus ?? 1)]);
    }
    const assigned = job.agentId === null ? null : (job.assignedAt ?? job.pullingAt ?? job.startedAt ?? null);
    queueChanges.push([job.createdAt, 1]);
    const waitEnd = assigned ?? job.finishedAt;
    if (waitEnd !== null) queueChanges.push([Math.max(job.createdAt, waitEnd), -1]);
  }
  const cpus = steps(cpuChanges);
  const queued = steps(queueChanges);
  return {
    cpus,
    queued,
    maxCpus: cpus.reduce((max, point) => Math.max(max, point.value), 0),
    maxQueued: queued.reduce((max, point) => Math.max(max, point.value), 0),
  };
}

function steps(changes: [number, number][]): { at: number; value: number }[] {
  const byTime = new Map<number, number>();
  for (const [at, delta] of changes) byTime.set(at, (byTime.get(at) ?? 0) + delta);
  let value = 0;
  return [...byTime.entries()].sort(([a], [b]) => a - b).map(([at, delta]) => ({ at, value: (value += delta) }));
}
