import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { assignmentCodec, stopRequestCodec, type Assignment, type ClusterNames, type StopRequest } from '@katapult/core';
import type { AssignmentQueue, Dispatch, ReportDelivery } from './dispatch.js';

/**
 * The Dispatch over NATS: assignments go to the assignments stream (deduplicated by attempt), stop requests over
 * core NATS, reports come from the events stream through the coordinator's durable consumer.
 */
export function natsDispatch(nc: NatsConnection, names: ClusterNames): Dispatch {
  const js = jetstream(nc);
  return {
    async sendAssignment(agentId: string, assignment: Assignment): Promise<void> {
      await js.publish(names.assignmentSubject(agentId), assignmentCodec.encode(assignment), {
        msgID: `${assignment.runId}.${assignment.jobId}.${assignment.attempt}`,
      });
    },

    sendStop(agentId: string, stop: StopRequest): void {
      nc.publish(names.stopSubject(agentId), stopRequestCodec.encode(stop));
    },

    async reports(maxUnsettled: number): Promise<AsyncIterable<ReportDelivery>> {
      const jsm = await jetstreamManager(nc);
      await jsm.consumers.add(names.streams.events, {
        durable_name: names.eventsConsumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
      });
      const consumer = await js.consumers.get(names.streams.events, names.eventsConsumer);
      return await consumer.consume({ max_messages: maxUnsettled });
    },

    async *assignmentQueues(): AsyncIterable<AssignmentQueue> {
      const jsm = await jetstreamManager(nc);
      for await (const consumer of jsm.consumers.list(names.streams.assignments)) {
        const name = consumer.config.durable_name;
        if (name) yield { name, subject: consumer.config.filter_subject };
      }
    },

    async dropAssignmentQueue(queue: AssignmentQueue): Promise<void> {
      const jsm = await jetstreamManager(nc);
      if (queue.subject) await jsm.streams.purge(names.streams.assignments, { filter: queue.subject });
      await jsm.consumers.delete(names.streams.assignments, queue.name);
    },
  };
}
