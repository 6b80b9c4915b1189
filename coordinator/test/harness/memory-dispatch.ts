import { jobReportCodec, type Assignment, type ClusterNames, type JobReport, type StopRequest } from '@katapult/core';
import type { AssignmentQueue, Dispatch, ReportDelivery } from '../../src/ports/dispatch.js';

/** How a delivered report was settled by the coordinator. */
export type Settled = 'ack' | 'nak' | 'term';

/**
 * The Dispatch in memory, for the loops' tests: it records what the coordinator sends (assignments once per
 * attempt, as JetStream's deduplication keeps them), and hands it reports whose settling can be awaited.
 */
export class MemoryDispatch implements Dispatch {
  /** Every assignment stored, in order, with its agent. */
  readonly assignments: { agentId: string; assignment: Assignment }[] = [];
  readonly stops: { agentId: string; stop: StopRequest }[] = [];
  private readonly sentAttempts = new Set<string>();
  private readonly queues = new Map<string, AssignmentQueue>();
  private readonly inbox: ReportDelivery[] = [];
  private wake: (() => void) | undefined;
  private heldSend: (() => Promise<void>) | undefined;

  constructor(private readonly names: ClusterNames) {}

  /** The assignments sent to one agent, as "job/attempt". */
  sentTo(agentId: string): string[] {
    return this.assignments.filter((sent) => sent.agentId === agentId).map(({ assignment }) => `${assignment.jobId}/${assignment.attempt}`);
  }

  /** An agent opens its queue (its durable consumer), as a real agent does when it starts. */
  openQueue(agentId: string): void {
    const name = this.names.agentConsumer(agentId);
    this.queues.set(name, { name, subject: this.names.assignmentSubject(agentId) });
  }

  /** How many assignments wait in the agent's queue (all it was sent: the test's agents take none); undefined once it is gone. */
  queued(agentId: string): number | undefined {
    if (!this.queues.has(this.names.agentConsumer(agentId))) return undefined;
    return this.sentTo(agentId).length;
  }

  /** A report sent by `sender` (by default the agent it names), as an agent publishes it; resolves once settled. */
  report(report: JobReport, sender = report.agentId): Promise<Settled> {
    return this.deliver(this.names.eventSubject(sender, report.runId, report.jobId), jobReportCodec.encode(report));
  }

  /** Any bytes on a subject, resolved once the coordinator settled them. */
  deliver(subject: string, data: Uint8Array): Promise<Settled> {
    return new Promise((resolve) => {
      this.inbox.push({ subject, data, ack: () => resolve('ack'), nak: () => resolve('nak'), term: () => resolve('term') });
      this.wake?.();
    });
  }

  /** The next assignment sent waits until released; `reached` resolves once it is waiting. */
  holdNextSend(): { reached: Promise<void>; release: () => void } {
    let reach: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => (reach = resolve));
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.heldSend = () => (reach(), released);
    return { reached, release };
  }

  async sendAssignment(agentId: string, assignment: Assignment): Promise<void> {
    const held = this.heldSend;
    this.heldSend = undefined;
    await held?.();
    const key = `${assignment.runId}.${assignment.jobId}.${assignment.attempt}`;
    if (this.sentAttempts.has(key)) return;
    this.sentAttempts.add(key);
    this.assignments.push({ agentId, assignment });
  }

  sendStop(agentId: string, stop: StopRequest): void {
    this.stops.push({ agentId, stop });
  }

  async reports(): Promise<AsyncIterable<ReportDelivery>> {
    const inbox = this.inbox;
    const waitForMore = () => new Promise<void>((resolve) => (this.wake = resolve));
    return {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = inbox.shift();
          if (next) yield next;
          else await waitForMore();
        }
      },
    };
  }

  async *assignmentQueues(): AsyncIterable<AssignmentQueue> {
    yield* [...this.queues.values()];
  }

  async dropAssignmentQueue(queue: AssignmentQueue): Promise<void> {
    this.queues.delete(queue.name);
  }
}
