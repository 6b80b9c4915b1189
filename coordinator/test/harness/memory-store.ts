import type { AgentRecord, JobRecord } from '@katapult/core';
import type { HeardAgent, RunRecord } from '../../src/store/store.js';
import { ViewReads } from '../../src/store/view-reads.js';

/**
 * The Store in memory, for the loops' tests: one revision counter for every write, as a KV stream's sequence,
 * and jobs written by compare-and-set against it as the JetStream store does. Reads come from the same
 * ViewReads as the JetStream store's. Agents heartbeat through `heartbeat` (heard at the clock's time)
 * and go away through `expire`, as their KV entries do.
 */
export class MemoryStore extends ViewReads {
  private readonly agents = new Map<string, HeardAgent>();
  private revision = 0;
  private interleaved: (() => void) | undefined;
  private held: { jobId: string; wait: () => Promise<void> } | undefined;
  /** How many compare-and-sets lost to another writer. */
  lostUpdates = 0;

  constructor(private readonly now: () => number) {
    super();
  }

  /** Stores an agent's heartbeat record, heard now. */
  heartbeat(record: AgentRecord): void {
    this.agents.set(record.agentId, { ...record, heardAt: this.now() });
  }

  /** What the agents bucket's max age does to an agent that went silent. */
  expire(agentId: string): void {
    this.agents.delete(agentId);
  }

  /** Another writer's version of a job (a second coordinator, an API call): stored whatever revision it had. */
  overwriteJob(job: JobRecord): void {
    this.view.putJob({ value: job, revision: ++this.revision });
  }

  /** A job as stored now. */
  current(runId: string, jobId: string): JobRecord {
    const entry = this.view.job(runId, jobId);
    if (!entry) throw new Error(`no job ${runId}/${jobId}`);
    return entry.value;
  }

  /** Runs `write` once, just before the next compare-and-set is checked: another writer landing between a read and its write. */
  beforeNextUpdate(write: () => void): void {
    this.interleaved = write;
  }

  /**
   * Holds the next compare-and-set of job `jobId` until `release` is called (a write's slow round trip): `reached`
   * resolves once it is waiting.
   */
  holdNextUpdate(jobId: string): { reached: Promise<void>; release: () => void } {
    let reach: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => (reach = resolve));
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held = { jobId, wait: () => (reach(), released) };
    return { reached, release };
  }

  async putRun(run: RunRecord): Promise<void> {
    this.view.putRun({ value: run, revision: ++this.revision });
  }

  async createJob(job: JobRecord): Promise<void> {
    if (this.view.job(job.runId, job.id)) throw new Error(`job ${job.runId}/${job.id} exists already`);
    this.view.putJob({ value: job, revision: ++this.revision });
  }

  async updateJob(job: JobRecord, revision: number): Promise<boolean> {
    const held = this.held;
    if (held?.jobId === job.id) {
      this.held = undefined;
      await held.wait();
    }
    const write = this.interleaved;
    this.interleaved = undefined;
    write?.();
    if (this.view.job(job.runId, job.id)?.revision !== revision) {
      this.lostUpdates++;
      return false;
    }
    this.view.putJob({ value: job, revision: ++this.revision });
    return true;
  }

  async sync(): Promise<void> {}

  async listAgents(): Promise<HeardAgent[]> {
    return [...this.agents.values()];
  }
}
