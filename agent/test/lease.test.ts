import Docker from 'dockerode';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImage, pushImage } from '@katapult/images';
import { ensureStreams, openJetStreamStore } from '@katapult/coordinator';
import { requireDocker, startNats, startRegistry, tempDir, waitFor, type NatsServer, type RegistryServer } from '@katapult/testkit';
import { agentLeaseMs, assignmentCodec, clusterNames } from '@katapult/core';
import { LABELS, startAgent, type RunningAgent } from '../src/index.js';
import { watchReports } from './report-watch.js';

/** An agent cut off from NATS (the server frozen) stops its job containers itself, before its lease runs out. */
describe('an agent that loses its lease', () => {
  const docker = new Docker();
  const stackLabel = `kplease${process.pid}`;
  const names = clusterNames('lease-test');
  const heartbeatMs = 400;
  let registry: RegistryServer;
  let nats: NatsServer;
  let nc: NatsConnection;
  let image: string;
  let agent: RunningAgent | undefined;
  const lines: string[] = [];

  beforeAll(async () => {
    await requireDocker();
    registry = await startRegistry();
    nats = await startNats();
    nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    await ensureStreams(nc, names);
    await openJetStreamStore(nc, names, { agentTtlMs: 60_000 });
    image = `${registry.host}/katapult/base:lease-test`;
    await pushImage(docker, (await ensureBaseImage(docker)).ref, image);
  });
  afterAll(async () => {
    nats?.resume();
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.stack}=${stackLabel}`] } });
    await Promise.all(
      left.map((info) =>
        docker
          .getContainer(info.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    await agent?.stop().catch(() => undefined);
    await nc?.close();
    await nats?.stop();
    await registry?.stop();
  });

  it('kills its running job container once 60 % of the lease passed without a heartbeat stored, and reports no outcome', async () => {
    agent = await startAgent(
      {
        natsUrl: nats.url,
        cluster: names.cluster,
        agentId: 'lease-1',
        instanceId: 'lease-1',
        cpus: 1,
        memoryBytes: null,
        stackLabel,
        httpPort: 0,
        httpHost: '127.0.0.1',
        heartbeatMs,
        cacheDir: await tempDir('lease-cache'),
        metadataUrl: undefined,
        metadataPollMs: 100,
        gpus: 0,
        jobsInAgentCgroup: false,
      },
      docker,
      (line) => lines.push(line),
    );
    const { reports, sub } = watchReports(nc, names);
    await jetstream(nc).publish(
      names.assignmentSubject('lease-1'),
      assignmentCodec.encode({
        v: 1,
        runId: `r-lease-${process.pid}`,
        jobId: 'sleeper',
        attempt: 1,
        image,
        runCommand: 'sleep 120',
        cpus: 1,
        memoryBytes: null,
        network: 'bridge',
        files: [],
        outputFiles: [],
      }),
    );
    await waitFor(() => reports.some((report) => report.type === 'running'), { what: 'the job running', timeoutMs: 60_000 });
    const jobContainers = () => docker.listContainers({ filters: { label: [`${LABELS.stack}=${stackLabel}`, `${LABELS.job}=sleeper`] } });
    expect(await jobContainers()).toHaveLength(1);

    // No coordinator runs here: only the agent itself can stop the container while NATS is frozen.
    nats.pause();
    await waitFor(async () => (await jobContainers()).length === 0, { what: 'the job container stopped', timeoutMs: 60_000 });
    const line = lines.find((entry) => entry.startsWith('no heartbeat stored for'));
    expect(line).toMatch(
      new RegExp(
        `^no heartbeat stored for [0-9.]+s \\(the coordinator takes an agent for lost after ${agentLeaseMs(heartbeatMs) / 1000}s\\): stopping 1 job container\\(s\\), to be run again elsewhere$`,
      ),
    );

    nats.resume();
    await waitFor(() => reports.some((report) => report.type === 'lost'), { what: 'the attempt given up as lost', timeoutMs: 60_000 });
    expect(reports.filter((report) => report.type === 'exited')).toEqual([]);
    await waitFor(() => agent!.running().length === 0, { what: 'the runner done' });
    sub.unsubscribe();
  }, 240_000);
});
