import Docker from 'dockerode';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImage, pushImage } from '@katapult/images';
import { Coordinator, ensureStreams, openJetStreamStore, RunService, type Provider } from '@katapult/coordinator';
import { requireDocker, startNats, startRegistry, tempDir, waitFor, type NatsServer, type RegistryServer } from '@katapult/testkit';
import { clusterNames, loadConfig, poolsOf } from '@katapult/core';
import { LABELS, startAgent, type RunningAgent } from '../src/index.js';
import { loadMessageCorpus } from '../../core/test/message-corpus.js';
import { watchReports } from './report-watch.js';

/**
 * Every message of the malformed corpus (core/test/fixtures/messages) thrown at a live coordinator and agent,
 * on the subjects they listen to. Each must be dropped with its one-line reason, and both must go on working.
 */
const corpusSpec = () =>
  loadConfig('project: corpus\ninstances: [{cpus: 1}]\njobs:\n  - {name: after, run_command: "echo still here"}\n', 'corpus.yaml', {
    defaultCpus: 1,
  });

describe('malformed NATS messages against a running coordinator and agent', () => {
  const docker = new Docker();
  const stackLabel = `kpcorpus${process.pid}`;
  const names = clusterNames('corpus-test');
  const agentId = 'sturdy-1';
  const coordinatorLines: string[] = [];
  const agentLines: string[] = [];
  let registry: RegistryServer;
  let nats: NatsServer;
  let nc: NatsConnection;
  let image: string;
  let coordinator: Coordinator;
  let service: RunService;
  let agent: RunningAgent;

  beforeAll(async () => {
    await requireDocker();
    registry = await startRegistry();
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await ensureStreams(nc, names);
    const store = await openJetStreamStore(nc, names, { agentTtlMs: 60_000 });
    const noInstances: Provider = { name: 'none', ensure: async () => [], stopPool: async () => [], terminateAll: async () => [] };
    coordinator = new Coordinator(nc, names, store, { tickMs: 200, lostGraceMs: 60_000, log: (line) => coordinatorLines.push(line) });
    await coordinator.start();
    service = new RunService(store, noInstances);
    const base = await ensureBaseImage(docker);
    image = `${registry.host}/katapult/base:corpus-test`;
    await pushImage(docker, base.ref, image);
    agent = await startAgent(
      {
        natsUrl: nats.url,
        cluster: names.cluster,
        agentId,
        instanceId: agentId,
        pool: poolsOf(corpusSpec())[0]!.id,
        cpus: 1,
        memoryBytes: null,
        stackLabel,
        httpPort: 0,
        httpHost: '127.0.0.1',
        heartbeatMs: 300,
        cacheDir: await tempDir('corpus-cache'),
        metadataUrl: undefined,
        metadataPollMs: 5000,
        gpus: 0,
        jobsInAgentCgroup: false,
      },
      docker,
      (line) => agentLines.push(line),
    );
  });
  afterAll(async () => {
    coordinator?.stop();
    await agent?.stop().catch(() => undefined);
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.stack}=${stackLabel}`] } });
    await Promise.all(
      left.map((info) =>
        docker
          .getContainer(info.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    await nc?.close();
    await nats?.stop();
    await registry?.stop();
  });

  it('drops each one with its reason, then still applies reports and runs assignments', async () => {
    const corpus = loadMessageCorpus();
    const js = jetstream(nc);
    for (const message of corpus) {
      await js.publish(names.eventSubject(agentId, 'r-corpus', 'job-1'), message.bytes);
      await js.publish(names.assignmentSubject(agentId), message.bytes);
      nc.publish(names.stopSubject(agentId), message.bytes);
    }
    // Malformed heartbeat records, in the bucket the coordinator reads its agents from.
    const agentsKv = await new Kvm(nc).open(names.buckets.agents);
    const bogusAgents = corpus.filter((message) => message.codec === 'agent');
    for (const [index, message] of bogusAgents.entries()) await agentsKv.put(`bogus-${index}`, message.bytes);
    await nc.flush();

    const droppedWith = (lines: string[], prefix: string, expected: string) =>
      lines.some((line) => line.startsWith(prefix) && line.includes(expected));
    const expectations = corpus.flatMap((message) =>
      message.codec === 'report'
        ? [{ file: message.file, lines: coordinatorLines, prefix: 'dropping a malformed report on ', expect: message.expect }]
        : message.codec === 'assignment'
          ? [{ file: message.file, lines: agentLines, prefix: 'dropping a malformed assignment: ', expect: message.expect }]
          : message.codec === 'stop'
            ? [{ file: message.file, lines: agentLines, prefix: 'dropping a malformed stop request: ', expect: message.expect }]
            : [],
    );
    await waitFor(() => expectations.every((e) => droppedWith(e.lines, e.prefix, e.expect)), {
      what: 'every corpus message dropped with its reason',
      timeoutMs: 20_000,
    }).catch(() => undefined);
    expect(expectations.filter((e) => !droppedWith(e.lines, e.prefix, e.expect)).map((e) => e.file)).toEqual([]);
    // Every line logged about them is one line.
    expect([...coordinatorLines, ...agentLines].filter((line) => /[\n\r\u2028\u2029]/.test(line))).toEqual([]);

    // Both still work: the coordinator places a job on the agent, the agent runs it, its reports are applied.
    const spec = corpusSpec();
    const { runId } = await service.create({ spec, configFile: 'corpus.yaml', images: { default: image }, files: {} });
    await waitFor(async () => (await service.get(runId)).state !== 'running', {
      what: 'the run after the corpus to end',
      timeoutMs: 30_000,
    });
    const run = await service.get(runId);
    expect(run.jobs.map((job) => [job.id, job.state, job.exitCode, job.agentId])).toEqual([['after', 'done', 0, agentId]]);
    // The malformed heartbeat records are not taken for agents.
    expect((await service.agents()).map((entry) => entry.agentId)).toEqual([agentId]);
  });

  it('reports start_failed for a malformed assignment that still names its attempt', async () => {
    const reports = watchReports(nc, names);
    const broken = { v: 1, runId: 'r-broken', jobId: 'half', attempt: 2, image: 42 };
    await jetstream(nc).publish(names.assignmentSubject(agentId), new TextEncoder().encode(JSON.stringify(broken)));
    const failed = await waitFor(() => reports.seen('half', 2, 'start_failed'), { what: 'the start_failed report', timeoutMs: 20_000 });
    reports.sub.unsubscribe();
    expect(failed).toMatchObject({ runId: 'r-broken', agentId });
    expect(failed.message).toMatch(/^the agent could not read its assignment: assignment: /);
  });
});
