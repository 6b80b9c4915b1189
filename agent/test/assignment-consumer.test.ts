import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStreams, openJetStreamStore } from '@katapult/coordinator';
import { startNats, waitFor, type NatsServer } from '@katapult/testkit';
import { assignmentCodec, clusterNames, type Assignment } from '@katapult/core';
import { connectAgentBus, type AgentBus } from '../src/bus/agent-bus.js';

/** The agent's assignment consumer outlives its removal: an agent the coordinator forgot still hears its jobs. */
describe('assignment consumer', () => {
  const names = clusterNames('consumer-test');
  const agentLog: string[] = [];
  let nats: NatsServer;
  let nc: NatsConnection;
  let bus: AgentBus;
  const heard: string[] = [];

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await ensureStreams(nc, names);
    await openJetStreamStore(nc, names, { agentTtlMs: 60_000 });
    bus = await connectAgentBus({
      natsUrl: nats.url,
      cluster: names.cluster,
      agentId: 'consumer-0',
      instanceId: 'consumer-0',
      cpus: 1,
      gpus: 0,
      log: (line) => agentLog.push(line),
    });
    void bus.consumeAssignments(async (assignment) => void heard.push(assignment.jobId));
  });
  afterAll(async () => {
    bus?.stopTaking();
    await bus?.close();
    await nc?.close();
    await nats?.stop();
  });

  const assign = (jobId: string) => {
    const assignment: Assignment = {
      v: 1,
      runId: 'r-consumer',
      jobId,
      attempt: 1,
      image: 'x',
      runCommand: 'true',
      cpus: 1,
      memoryBytes: null,
      network: 'none',
      files: [],
      outputFiles: [],
    };
    return jetstream(nc).publish(names.assignmentSubject('consumer-0'), assignmentCodec.encode(assignment));
  };

  it('hears assignments made after the coordinator removed its consumer (an agent it had not heard from)', async () => {
    await assign('before');
    await waitFor(() => heard.includes('before'), { what: 'the first assignment' });
    // As forgetGoneAgents does for an agent silent for a minute.
    await (await jetstreamManager(nc)).consumers.delete(names.streams.assignments, names.agentConsumer('consumer-0'));
    await assign('after');
    await waitFor(() => heard.includes('after'), { what: 'an assignment sent after the consumer was removed', timeoutMs: 60_000 });
    expect(agentLog.join('\n')).toMatch(/the assignment consumer (stopped|failed).*making it again/);
  }, 90_000);

  it('starts consuming once JetStream answers, when it did not at first (a stalled server as the agent began)', async () => {
    const late = await connectAgentBus({
      natsUrl: nats.url,
      cluster: names.cluster,
      agentId: 'consumer-1',
      instanceId: 'consumer-1',
      cpus: 1,
      gpus: 0,
      log: (line) => agentLog.push(line),
    });
    const lateHeard: string[] = [];
    let stopped: unknown;
    nats.pause();
    try {
      late.consumeAssignments(async (assignment) => void lateHeard.push(assignment.jobId)).catch((error: unknown) => (stopped = error));
      await waitFor(() => agentLog.some((line) => /the assignment consumer failed \(.*timeout/i.test(line)) || stopped !== undefined, {
        what: 'the first attempt to time out',
        timeoutMs: 60_000,
      });
    } finally {
      nats.resume();
    }
    const assignment: Assignment = {
      v: 1,
      runId: 'r-consumer',
      jobId: 'late',
      attempt: 1,
      image: 'x',
      runCommand: 'true',
      cpus: 1,
      memoryBytes: null,
      network: 'none',
      files: [],
      outputFiles: [],
    };
    await jetstream(nc).publish(names.assignmentSubject('consumer-1'), assignmentCodec.encode(assignment));
    await waitFor(() => lateHeard.includes('late') || stopped !== undefined, {
      what: 'the assignment, once JetStream answers',
      timeoutMs: 60_000,
    });
    expect(stopped).toBeUndefined();
    expect(lateHeard).toEqual(['late']);
    late.stopTaking();
    await late.close();
  }, 120_000);
});
