import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clusterNames,
  loadConfig,
  natsUsersConfig,
  poolsOf,
  type AgentView,
  type CreateRunRequest,
  type NatsUser,
  type RunView,
} from '@katapult/core';
import { renderUserData, type UserDataOptions } from '@katapult/aws';
import {
  buildServer,
  Coordinator,
  ensureStreams,
  jetStreamLogSource,
  openJetStreamStore,
  RunService,
  type Provider,
} from '@katapult/coordinator';
import { ensureAgentImage, ensureBaseImage, ensureNodeImage, pushImage } from '@katapult/images';
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
import { REPO_ROOT } from './cli.js';

/** The name the boot script gives the agent's container, whatever the stack: one per instance. */
const AGENT = 'katapult-agent';
const STACK_PREFIX = 'kp-aws-boot-';
const DOCKER_SOCKET = '/var/run/docker.sock';
const LOCK = join(tmpdir(), 'katapult-e2e-aws-boot.lock');
/** What a container cannot do as a machine does; each stub records its call. Everything else is real. */
const MACHINE_COMMANDS = ['systemctl', 'shutdown', 'systemd-run'];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Only one run of this test at a time on this Docker: the agent's container name is fixed. */
async function takeLock(): Promise<void> {
  await waitFor(
    async () => {
      try {
        const handle = await open(LOCK, 'wx');
        await handle.writeFile(String(process.pid));
        await handle.close();
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number((await readFile(LOCK, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && !alive(holder)) await unlink(LOCK).catch(() => undefined);
      return false;
    },
    { what: `the lock ${LOCK} (another run of this test holds it)`, timeoutMs: 15 * 60_000, intervalMs: 1_000 },
  );
}

/** Docker's multiplexed log format: 8-byte frame headers (stream, 0, 0, 0, big-endian length). */
function demux(buffer: Buffer): { stdout: string; stderr: string } {
  const out: Record<number, Buffer[]> = { 1: [], 2: [] };
  for (let at = 0; at + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(at + 4);
    out[buffer[at] === 2 ? 2 : 1]!.push(buffer.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return { stdout: Buffer.concat(out[1]!).toString('utf8'), stderr: Buffer.concat(out[2]!).toString('utf8') };
}

/** The one file of a `docker cp` tar stream: its mode and content. */
async function copyOut(container: Docker.Container, path: string): Promise<{ mode: number; content: string }> {
  const stream = await container.getArchive({ path });
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  const tar = Buffer.concat(chunks);
  const octal = (start: number, length: number) =>
    parseInt(
      tar
        .subarray(start, start + length)
        .toString('ascii')
        .replace(/\0.*$/s, '')
        .trim(),
      8,
    );
  return { mode: octal(100, 8) & 0o777, content: tar.subarray(512, 512 + octal(124, 12)).toString('utf8') };
}

/**
 * The EC2 boot script (user-data.ts) run for real, as cloud-init would run it, in a container of Katapult's Debian
 * base image (no curl, no Docker) with host networking and the host's Docker socket: it installs curl and docker.io
 * with apt, reads its instance id from the IMDSv2 stand-in, pulls the agent image from the local registry and starts
 * the agent beside this test's containers; the agent registers with a coordinator over NATS with per-agent users,
 * and runs a job. Only systemctl, shutdown and systemd-run are stubs.
 */
const bootSpec = () =>
  loadConfig(
    'project: aws-boot\ninstances: [{cpus: 2}]\njobs:\n  - {name: hello, run_command: "echo hello from the instance"}\n',
    'aws-boot.yaml',
    { defaultCpus: 2 },
  );

describe('an AWS instance boot, in a container', () => {
  const docker = new Docker();
  const stackLabel = `${STACK_PREFIX}${process.pid}`;
  const names = clusterNames('aws-boot');
  const token = randomBytes(32).toString('hex');
  const admin: NatsUser = { user: 'katapult-admin', pass: randomBytes(24).toString('hex') };
  const agentUser: NatsUser = { user: 'agent-booted', pass: randomBytes(24).toString('hex') };
  const bootName = `kp-aws-boot-script-${process.pid}`;
  let locked = false;
  let registry: RegistryServer | undefined;
  let nats: NatsServer | undefined;
  let metadata: MetadataServer | undefined;
  let nc: NatsConnection | undefined;
  let coordinator: Coordinator | undefined;
  let api: ReturnType<typeof buildServer> | undefined;
  let apiUrl = '';
  let dir = '';
  let agentImage = '';
  let jobImage = '';
  let options: UserDataOptions;
  const coordinatorLog: string[] = [];
  let boot: { code: number; stdout: string; stderr: string; seconds: number };

  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${apiUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
    });

  /** Our own container of that name, left by a run of this test that died (the lock says none runs now), goes; another is never touched. */
  async function clearAgentName(): Promise<void> {
    const found = await docker
      .getContainer(AGENT)
      .inspect()
      .catch(() => undefined);
    if (!found) return;
    const label = found.Config.Labels?.['katapult.stack'] ?? '';
    if (!label.startsWith(STACK_PREFIX)) {
      throw new Error(
        `a container named ${AGENT} (${found.Id.slice(0, 12)}, stack "${label}") is not this test's; the boot script would replace it, so this test does not run here`,
      );
    }
    await docker.getContainer(found.Id).remove({ force: true });
  }

  beforeAll(async () => {
    await requireDocker();
    await takeLock();
    locked = true;
    await clearAgentName();

    const base = await ensureBaseImage(docker);
    const node = await ensureNodeImage(docker, base.ref);
    const agent = await ensureAgentImage(docker, { repoRoot: REPO_ROOT, nodeImage: node.ref });
    registry = await startRegistry();
    agentImage = `${registry.host}/${agent.ref}`;
    await pushImage(docker, agent.ref, agentImage);
    // Pinned by digest, as POST /runs requires.
    jobImage = `${registry.host}/katapult/base@${await pushImage(docker, base.ref, `${registry.host}/katapult/base:aws-boot`)}`;

    metadata = await startMetadataServer();
    // As the stack does: no anonymous access, the coordinator as admin, the agent as its own restricted user.
    nats = await startNats({ authorization: natsUsersConfig(names, admin, { [metadata.instanceId]: agentUser }) });
    nc = await connect({ servers: nats.url, user: admin.user, pass: admin.pass });
    await ensureStreams(nc, names);
    const heartbeatMs = 500;
    const store = await openJetStreamStore(nc, names, { agentTtlMs: heartbeatMs * 5 });
    // The instance is the one this test booted: asked for instances, the provider has it already.
    const instanceId = metadata.instanceId;
    const provider: Provider = {
      name: 'aws-boot',
      ensure: async () => [instanceId],
      stopPool: async () => [],
      terminateAll: async () => [],
    };
    coordinator = new Coordinator(nc, names, store, {
      tickMs: 300,
      lostGraceMs: heartbeatMs * 5,
      log: (line) => coordinatorLog.push(line),
      provider,
    });
    await coordinator.start();
    api = buildServer(new RunService(store, provider), {
      token,
      logs: jetStreamLogSource(nc, names, async (run, job) => (await store.getJob(run, job))?.value),
    });
    apiUrl = await api.listen({ host: '127.0.0.1', port: 0 });

    options = {
      agentImage,
      natsUrl: nats.url,
      natsUser: agentUser.user,
      natsPassword: agentUser.pass,
      cluster: names.cluster,
      // The pool of the run submitted below: the instance serves it.
      pool: poolsOf(bootSpec())[0]!.id,
      cpus: 2,
      memoryBytes: 512 * 1024 ** 2,
      stackLabel,
      heartbeatMs,
      lifetimeSeconds: 3600,
    };
    dir = await tempDir('e2e-aws-boot');
    await mkdir(join(dir, 'bin'));
    await writeFile(join(dir, 'user-data.sh'), renderUserData(options));
    for (const command of MACHINE_COMMANDS) {
      await writeFile(join(dir, 'bin', command), `#!/bin/sh\necho "${command} $*" >>/katapult-test/calls\nexit 0\n`);
      await chmod(join(dir, 'bin', command), 0o755);
    }
    await writeFile(join(dir, 'calls'), '');

    const started = Date.now();
    const container = await docker.createContainer({
      name: bootName,
      Image: base.ref,
      Cmd: ['/bin/bash', '/katapult-test/user-data.sh'],
      Env: [`PATH=/katapult-test/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, `KATAPULT_IMDS_URL=${metadata.url}`],
      Labels: { 'katapult.stack': stackLabel, 'katapult.role': 'boot-test' },
      HostConfig: { NetworkMode: 'host', Binds: [`${dir}:/katapult-test`, `${DOCKER_SOCKET}:/var/run/docker.sock`] },
    });
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const output = demux(await container.logs({ stdout: true, stderr: true, follow: false }));
    boot = { code: StatusCode, ...output, seconds: (Date.now() - started) / 1000 };
    console.log(`aws-boot: the boot script ended with ${boot.code} after ${boot.seconds.toFixed(1)} s`);
  }, 900_000);

  afterAll(async () => {
    // The agent first, so that it stops taking jobs, then everything this stack started.
    const ours = await docker.listContainers({ all: true, filters: { label: [`katapult.stack=${stackLabel}`] } }).catch(() => []);
    const agentFirst = ours.sort((a, b) => Number(b.Names.includes(`/${AGENT}`)) - Number(a.Names.includes(`/${AGENT}`)));
    for (const info of agentFirst)
      await docker
        .getContainer(info.Id)
        .remove({ force: true })
        .catch(() => undefined);
    coordinator?.stop();
    await api?.close();
    await nc?.drain().catch(() => undefined);
    await nats?.stop();
    await metadata?.stop();
    await registry?.stop();
    for (const ref of [agentImage, jobImage])
      if (ref)
        await docker
          .getImage(ref)
          .remove()
          .catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
    if (locked) await unlink(LOCK).catch(() => undefined);
  });

  it('the script installs curl and Docker with apt, schedules eco_life, and ends with 0', async () => {
    expect(boot.stderr.match(/katapult: boot failed.*/)?.[0]).toBeUndefined();
    expect(boot.code, `${boot.stdout}\n${boot.stderr}`).toBe(0);
    expect(boot.stdout).toMatch(/Setting up curl /);
    expect(boot.stdout).toMatch(/Setting up docker\.io /);
    expect(boot.stdout).toContain(`katapult: agent ${metadata!.instanceId} started`);
    expect(metadata!.requests('PUT /latest/api/token')).toBeGreaterThanOrEqual(1);
    expect(metadata!.requests('GET /latest/meta-data/instance-id')).toBe(1);
    expect(metadata!.requests('GET /latest/meta-data/instance-type')).toBe(1);
    expect((await readFile(join(dir, 'calls'), 'utf8')).trim().split('\n')).toEqual([
      'shutdown -h +60 katapult: eco_life reached',
      'systemctl enable --now docker',
      `systemd-run --unit katapult-agent-watch --description Katapult: power off when the agent ends /bin/sh -c docker wait ${AGENT}; shutdown -h now "katapult: the agent ended"`,
    ]);
  });

  it('the agent container runs with the env file the script wrote, readable by root only', async () => {
    const envFile = await copyOut(docker.getContainer(bootName), '/etc/katapult/agent.env');
    expect(envFile.mode).toBe(0o600);
    const id = metadata!.instanceId;
    expect(envFile.content).toBe(
      [
        `KATAPULT_NATS_URL=${nats!.url}`,
        `KATAPULT_NATS_USER=${agentUser.user}`,
        `KATAPULT_NATS_PASSWORD=${agentUser.pass}`,
        `KATAPULT_POOL=${poolsOf(bootSpec())[0]!.id}`,
        `KATAPULT_CLUSTER=${names.cluster}`,
        'KATAPULT_CPUS=2',
        `KATAPULT_MEMORY_BYTES=${512 * 1024 ** 2}`,
        `KATAPULT_STACK_LABEL=${stackLabel}`,
        'KATAPULT_HEARTBEAT_MS=500',
        `KATAPULT_METADATA_URL=${metadata!.url}`,
        `KATAPULT_AGENT_ID=${id}`,
        `KATAPULT_INSTANCE_ID=${id}`,
        'KATAPULT_GPUS=0',
        `KATAPULT_INSTANCE_TYPE=${metadata!.instanceType}`,
        '',
      ].join('\n'),
    );
    const agent = await docker.getContainer(AGENT).inspect();
    expect(agent.State.Running).toBe(true);
    expect(agent.Config.Image).toBe(agentImage);
    expect(agent.Config.Env).toEqual(expect.arrayContaining(envFile.content.trim().split('\n')));
    expect(agent.Config.Labels).toMatchObject({ 'katapult.stack': stackLabel, 'katapult.role': 'agent' });
    expect(agent.HostConfig.NetworkMode).toBe('host');
    expect(agent.HostConfig.Binds).toEqual(['/var/run/docker.sock:/var/run/docker.sock']);
  });

  it('the coordinator lists the agent under the instance id, to its token holders only', async () => {
    const agents = await waitFor(
      async () => {
        const listed = (await (await call('/agents')).json()) as AgentView[];
        return listed.length > 0 && listed;
      },
      { what: 'the booted agent in GET /agents', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(agents).toEqual([
      expect.objectContaining({
        agentId: metadata!.instanceId,
        instanceId: metadata!.instanceId,
        instanceType: metadata!.instanceType,
        cpus: 2,
        gpus: 0,
        running: [],
      }),
    ]);
    expect((await fetch(`${apiUrl}/agents`)).status).toBe(401);
  });

  it('a job submitted to the coordinator runs on the booted agent and is done', async () => {
    const spec = bootSpec();
    const request: CreateRunRequest = { spec, configFile: 'aws-boot.yaml', images: { default: jobImage }, files: {} };
    const created = await call('/runs', { method: 'POST', body: JSON.stringify(request) });
    expect(created.status).toBe(201);
    const { runId } = (await created.json()) as { runId: string };
    const run = await waitFor(
      async () => {
        const view = (await (await call(`/runs/${runId}`)).json()) as RunView;
        return view.jobs.every((job) => ['done', 'failed', 'aborted'].includes(job.state)) && view;
      },
      { what: `run ${runId} over`, timeoutMs: 120_000, intervalMs: 250 },
    );
    expect(run.jobs.map(({ id, state, agentId, exitCode }) => ({ id, state, agentId, exitCode }))).toEqual([
      { id: 'hello', state: 'done', agentId: metadata!.instanceId, exitCode: 0 },
    ]);

    const lines: string[] = [];
    const stop = new AbortController();
    const jobView = async () => ((await (await call(`/runs/${runId}`)).json()) as RunView).jobs.find((job) => job.id === 'hello');
    const reading = jetStreamLogSource(nc!, names, jobView).follow(
      runId,
      'hello',
      (record) => {
        if ('line' in record) lines.push(record.line);
        else stop.abort();
      },
      stop.signal,
    );
    await waitFor(() => stop.signal.aborted, { what: 'the end of the job log', timeoutMs: 10_000 });
    await reading;
    expect(lines).toEqual(['hello from the instance']);
  });
});
