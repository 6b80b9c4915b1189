import type { Assignment, StopRequest } from '@katapult/core';

/** One report as it came off the wire: settled once, by applying it (ack), handing it back for later (nak) or dropping it (term). */
export interface ReportDelivery {
  readonly subject: string;
  readonly data: Uint8Array;
  ack(): void;
  nak(delayMs: number): void;
  term(): void;
}

/** An agent's queue of assignments (its durable consumer): what the sweep removes once the agent is gone. */
export interface AssignmentQueue {
  readonly name: string;
  /** The subject its assignments are stored under, purged with it. */
  readonly subject?: string | undefined;
}

/**
 * Everything the coordinator's loops send and hear besides the store: NATS in production (natsDispatch), an
 * in-memory double in the loops' tests. Loops decide; this only carries.
 */
export interface Dispatch {
  /** Stores an assignment for its agent, once per attempt (a repeat of the same attempt is dropped). */
  sendAssignment(agentId: string, assignment: Assignment): Promise<void>;
  /** Asks an agent to stop an attempt; best effort, the caller repeats it until the agent no longer runs it. */
  sendStop(agentId: string, stop: StopRequest): void;
  /** The agents' reports from where this coordinator stopped reading, at most `maxUnsettled` delivered and not settled. */
  reports(maxUnsettled: number): Promise<AsyncIterable<ReportDelivery>>;
  assignmentQueues(): AsyncIterable<AssignmentQueue>;
  /** Removes a queue and the assignments left in it. */
  dropAssignmentQueue(queue: AssignmentQueue): Promise<void>;
}
