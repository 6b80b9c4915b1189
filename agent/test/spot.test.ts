import Docker from 'dockerode';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImage, pushImage } from '@katapult/images';
import { Coordinator, ensureStreams, openJetStreamStore, RunService, type Provider } from '@katapult/coordinator';
import {
  requireDocker,
  startMetadataServer,
  startNats,
  startRegistry,
  tempDir,
  waitFor,
  type MetadataServer,
  type NatsServer,
  type RegistryServer,
} from '@katapult/testkit';
import { assignmentCodec, clusterNames, loadConfig, poolsOf, type Assignment } from '@katapult/core';
import { LABELS, startAgent, type AgentConfig, type RunningAgent } from '../src/index.js';
import { watchReports as watchReportsOn } from './report-watch.js';

/**
 * A spot interruption, with real parts: nats-server, Docker, a registry, the agent in this process, and the
 * metadata stand-in playing the EC2 instance metadata service.
 */
const spotSpec = () =>
  loadConfig('project: spot\ninstances: [{cpus: 1}]\njobs:\n  - {name: long, run_command: "sleep 60"}\n', 'spot.yaml', { defaultCpus: 1 });

describe('spot interruption', () => {
  const docker = new Docker();
  const stackLabel = `kpspot${process.pid}`;
  const names = clusterNames('spot-test');
  let registry: RegistryServer;
  let nats: NatsServer;
  let nc: NatsConnection;
  let agentsKv: KV;
  let image: string;
  const started: { agent: RunningAgent; metadata?: MetadataServer }[] = [];
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);

  beforeAll(async () => {
    await requireDocker();
    registry = await startRegistry();
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    // What the coordinator creates at its start: streams, file store, and the buckets (agents among them).
    await ensureStreams(nc, names);
    await openJetStreamStore(nc, names, { agentTtlMs: 60_000 });
    agentsKv = await new Kvm(nc).open(names.buckets.agents);
    const base = await ensureBaseImage(docker);
    image = `${registry.host}/katapult/base:spot-test`;
    await pushImage(docker, base.ref, image);
  });
  afterEach(async () => {
    // Job containers first, and their runners given the time to report, so no agent closes NATS under one.
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.stack}=${stackLabel}`] } });
    await Promise.all(
      left.map((info) =>
        docker
          .getContainer(info.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    const agents = started.splice(0);
    await waitFor(() => agents.every(({ agent }) => agent.running().length === 0), { what: 'the runners done' }).catch(() => undefined);
    for (const { agent, metadata } of agents) {
      await agent.stop().catch(() => undefined);
      await metadata?.stop();
    }
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
    await registry?.stop();
  });

  const agentConfig = async (agentId: string, metadataUrl?: string): Promise<AgentConfig> => ({
    natsUrl: nats.url,
    cluster: names.cluster,
    agentId,
    instanceId: agentId,
    // The pool of the run the coordinator test submits: only its agents take its jobs.
    pool: poolsOf(spotSpec())[0]!.id,
    cpus: 1,
    memoryBytes: null,
    stackLabel,
    httpPort: 0,
    httpHost: '127.0.0.1',
    heartbeatMs: 300,
    cacheDir: await tempDir('spot-cache'),
    metadataUrl,
    metadataPollMs: 100,
    gpus: 0,
    jobsInAgentCgroup: false,
  });

  /** An agent in this process; with a metadata stand-in unless told otherwise. */
  const spotAgent = async (agentId: string, withMetadata = true) => {
    const metadata = withMetadata ? await startMetadataServer() : undefined;
    const agent = await startAgent(await agentConfig(agentId, metadata?.url), docker, log);
    started.push({ agent, ...(metadata ? { metadata } : {}) });
    return { agent, metadata };
  };

  const watchReports = () => watchReportsOn(nc, names);

  // Filtered by this test's stack label too: other suites may run jobs of the same name on this Docker.
  const jobContainers = (jobId: string) =>
    docker.listContainers({ all: true, filters: { label: [`${LABELS.stack}=${stackLabel}`, `${LABELS.job}=${jobId}`] } });
  const heartbeatOf = async (agentId: string) => {
    const entry = await agentsKv.get(agentId);
    return entry?.operation === 'PUT' ? entry : null;
  };

  it('stops taking jobs, reports the running one lost, kills its container and leaves the agents bucket', async () => {
    const { agent, metadata } = await spotAgent('spot-1');
    const reports = watchReports();
    const assignment = (jobId: string): Assignment => ({
      v: 1,
      runId: `r-spot-${process.pid}`,
      jobId,
      attempt: 1,
      image,
      runCommand: 'sleep 60',
      cpus: 1,
      memoryBytes: null,
      network: 'bridge',
      files: [],
      outputFiles: [],
    });
    const js = jetstream(nc);
    await js.publish(names.assignmentSubject('spot-1'), assignmentCodec.encode(assignment('sleeper')));
    await waitFor(() => reports.seen('sleeper', 1, 'running'), { what: 'the job running', timeoutMs: 20_000 });
    expect(await jobContainers('sleeper')).toHaveLength(1);
    expect(await heartbeatOf('spot-1')).not.toBeNull();
    // The watch polls all along; nothing happens while there is no notice.
    await waitFor(() => metadata!.requests('GET /latest/meta-data/spot/instance-action') >= 3, { what: 'a few checks' });
    expect(agent.running()).toHaveLength(1);

    metadata!.interrupt();
    await waitFor(() => reports.seen('sleeper', 1, 'lost'), { what: 'the attempt reported lost', timeoutMs: 15_000 });
    await waitFor(async () => (await jobContainers('sleeper')).length === 0, { what: 'the job container removed' });
    await waitFor(async () => (await heartbeatOf('spot-1')) === null, { what: 'the heartbeat entry deleted' });
    expect(reports.seen('sleeper', 1, 'exited')).toBeUndefined();
    expect(agent.running()).toEqual([]);
    expect(lines.some((line) => line.startsWith('spot interruption notice (terminate at '))).toBe(true);

    // An assignment arriving after the notice is not run: it stays in the stream for the coordinator to deal with.
    await js.publish(names.assignmentSubject('spot-1'), assignmentCodec.encode(assignment('late')));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(reports.reports.filter((r) => r.jobId === 'late')).toEqual([]);
    expect(await jobContainers('late')).toEqual([]);
    expect(agent.running()).toEqual([]);
    // No heartbeat came back either.
    expect(await heartbeatOf('spot-1')).toBeNull();
    const jsm = await jetstreamManager(nc);
    const pending = await jsm.streams.info(names.streams.assignments, { subjects_filter: names.assignmentSubject('spot-1') });
    // The lost attempt's assignment was acked (its outcome is out); the late one is still there.
    expect(pending.state.messages).toBe(1);
    const left = await jsm.streams.getMessage(names.streams.assignments, { last_by_subj: names.assignmentSubject('spot-1') });
    expect(assignmentCodec.decode(left!.data)).toMatchObject({ ok: true, value: { jobId: 'late' } });
    reports.sub.unsubscribe();
  });

  it('the coordinator requeues the interrupted attempt on another agent at once', async () => {
    // A long grace period for silent agents: the requeue can only come from the agent's lost report.
    const store = await openJetStreamStore(nc, names, { agentTtlMs: 60_000 });
    const coordinator = new Coordinator(nc, names, store, { tickMs: 200, lostGraceMs: 60_000, log });
    const noInstances: Provider = { name: 'none', ensure: async () => [], stopPool: async () => [], terminateAll: async () => [] };
    const service = new RunService(store, noInstances);
    await coordinator.start();
    try {
      const { agent: first, metadata } = await spotAgent('spot-a');
      const reports = watchReports();
      const spec = spotSpec();
      const { runId } = await service.create({ spec, configFile: 'spot.yaml', images: { default: image }, files: {} });
      await waitFor(() => reports.seen('long', 1, 'running'), { what: 'attempt 1 running', timeoutMs: 20_000 });
      expect(reports.seen('long', 1, 'running')?.agentId).toBe('spot-a');
      await spotAgent('spot-b', false);

      metadata!.interrupt();
      await waitFor(() => reports.seen('long', 2, 'running'), { what: 'attempt 2 running', timeoutMs: 20_000 });
      expect(reports.seen('long', 1, 'lost')?.agentId).toBe('spot-a');
      expect(reports.seen('long', 2, 'running')?.agentId).toBe('spot-b');
      // The coordinator applies the agent's report a moment after the watch hears it.
      const job = await waitFor(
        async () => {
          const found = (await service.get(runId)).jobs.find((j) => j.id === 'long');
          return found?.state === 'running' && found.attempt === 2 ? found : undefined;
        },
        { what: 'the coordinator to record attempt 2 running', timeoutMs: 20_000 },
      );
      expect(job).toMatchObject({ state: 'running', attempt: 2, agentId: 'spot-b' });
      expect(first.running()).toEqual([]);
      const containers = await jobContainers('long');
      expect(containers.map((c) => [c.Labels[LABELS.attempt], c.Labels[LABELS.agent]])).toEqual([['2', 'spot-b']]);

      await service.cancel(runId, undefined);
      await waitFor(() => reports.seen('long', 2, 'exited'), { what: 'attempt 2 stopped on cancel' });
      reports.sub.unsubscribe();
    } finally {
      coordinator.stop();
    }
  });
});
