import { createHash } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import Docker from 'dockerode';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { getSubjectFile } from '@katapult/object-files';
import * as tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEnvironment, ensureBaseImage, OciRegistry, pushImage } from '@katapult/images';
import { environmentSpec, requireDocker, startNats, startRegistry, tempDir, type NatsServer, type RegistryServer } from '@katapult/testkit';
import { clusterNames, type Assignment, type JobOutputs, type LogPiece, type StagedFile } from '@katapult/core';
import { JOB_PIDS_LIMIT, LABELS, openJobFileStore, runJobAttempt, type JobFileStore, type JobSink } from '../src/index.js';
import { grantEveryRead } from './read-grants.js';

const MiB = 1024 * 1024;

/** One job attempt on the real Docker engine, its image pulled from a real registry. */
class RecordingSink implements JobSink {
  readonly events: string[] = [];
  readonly lines: string[] = [];
  async report(type: 'pulling' | 'running') {
    this.events.push(type);
  }
  outputs: JobOutputs | undefined;
  async exited(exitCode: number, outputs?: JobOutputs) {
    this.events.push(`exited ${exitCode}`);
    this.outputs = outputs;
  }
  async lost() {
    this.events.push('lost');
  }
  async startFailed(message: string) {
    this.events.push(`start_failed ${message}`);
  }
  logLine(stream: 'stdout' | 'stderr', line: string) {
    this.lines.push(`${stream}: ${line}`);
  }
  private readonly parts = { stdout: '', stderr: '' };
  logPiece(piece: LogPiece) {
    this.parts[piece.stream] += piece.text;
    if (piece.ends) {
      this.logLine(piece.stream, this.parts[piece.stream]);
      this.parts[piece.stream] = '';
    }
    return true;
  }
  async whenLogWritable() {}
  async endOfLog(exitCode: number | null) {
    this.events.push(`eof ${exitCode}`);
  }
}

describe('job runner', () => {
  const docker = new Docker();
  const names = clusterNames('runner-test');
  let registry: RegistryServer;
  let nats: NatsServer;
  let nc: NatsConnection;
  let objects: ObjectStore;
  let files: JobFileStore;
  let image: string;
  let envImage: string;
  let options: { agentId: string; stackLabel: string; files: JobFileStore };

  beforeAll(async () => {
    await requireDocker();
    registry = await startRegistry();
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    objects = await new Objm(nc).create(names.fileStore);
    await (await jetstreamManager(nc)).streams.add({ name: names.streams.outputs, subjects: [names.outputWildcard] });
    grantEveryRead(nc, names);
    files = await openJobFileStore(nc, names, 'local-0', await tempDir('agent-cache'));
    options = { agentId: 'local-0', stackLabel: `kptest${process.pid}`, files };
    const base = await ensureBaseImage(docker);
    image = `${registry.host}/katapult/base:runner-test`;
    await pushImage(docker, base.ref, image);
    await docker
      .getImage(image)
      .remove()
      .catch(() => undefined); // so the runner has to pull it
    // A real environment image, built by its recipe: it carries the job user and its label.
    const built = await buildEnvironment(docker, {
      env: environmentSpec({ name: 'runner-user', command: 'echo ready > /opt/ready' }),
      projectDir: await tempDir('runner-env'),
      base,
      registry: new OciRegistry(registry.host),
      logDir: await tempDir('runner-env-logs'),
    });
    envImage = built.ref;
  }, 300_000);
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
    await registry?.stop();
  });

  const assignment = (runCommand: string): Assignment => ({
    v: 1,
    runId: 'r-test',
    jobId: `j${Date.now()}`,
    attempt: 1,
    image,
    runCommand,
    cpus: 1,
    memoryBytes: null,
    network: 'bridge',
    files: [],
    outputFiles: [],
  });

  const stored = async (path: string, content: string, flags: Partial<StagedFile> = {}): Promise<StagedFile> => {
    const object = `sha256-${createHash('sha256').update(content).digest('hex')}`;
    await objects.putBlob({ name: object }, new TextEncoder().encode(content));
    return { path, object, size: Buffer.byteLength(content), executable: false, shared: false, ...flags };
  };

  const unpack = async (object: string): Promise<Record<string, string>> => {
    const bytes = await buffer((await getSubjectFile(nc, names.streams.outputs, object))!);
    const entries: Record<string, string> = {};
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        if (header.type === 'file') entries[header.name] = Buffer.concat(chunks).toString();
        next();
      });
    });
    const done = new Promise<void>((resolve) => extract.on('finish', () => resolve()));
    extract.end(Buffer.from(bytes));
    await done;
    return entries;
  };

  it('pulls, runs, streams each line in order, reports the exit code and removes the container', async () => {
    const sink = new RecordingSink();
    const job = assignment('for i in 1 2 3; do echo "out $i"; done; echo "err" >&2; exit 7');
    await runJobAttempt(docker, job, sink, options);
    expect(sink.events).toEqual(['pulling', 'running', 'eof 7', 'exited 7']);
    expect(sink.lines.filter((line) => line.startsWith('stdout'))).toEqual(['stdout: out 1', 'stdout: out 2', 'stdout: out 3']);
    expect(sink.lines).toContain('stderr: err');
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.job}=${job.jobId}`] } });
    expect(left).toEqual([]);
  });

  it('a job pinned by digest runs the image built, after its tag was overwritten in the registry', async () => {
    const marker = `built-${Date.now()}`;
    const built = await buildEnvironment(docker, {
      env: environmentSpec({ name: 'runner-pinned', command: `echo ${marker} > /opt/marker` }),
      projectDir: await tempDir('runner-pinned'),
      base: await ensureBaseImage(docker),
      registry: new OciRegistry(registry.host),
      logDir: await tempDir('runner-pinned-logs'),
    });
    expect(built.ref).toBe(`${registry.host}/katapult/env@${built.digest}`);
    // Someone pushes another image over the tag; then this Docker forgets the image built (another machine).
    await pushImage(docker, (await ensureBaseImage(docker)).ref, built.tagRef);
    await docker.getImage(built.ref).remove();
    const byTag = new RecordingSink();
    await runJobAttempt(docker, { ...assignment('cat /opt/marker 2>&1 || echo no marker'), image: built.tagRef }, byTag, options);
    expect(byTag.lines).toContain('stdout: no marker');

    const pinned = new RecordingSink();
    await runJobAttempt(docker, { ...assignment('cat /opt/marker'), image: built.ref }, pinned, options);
    expect(pinned.events).toEqual(['pulling', 'running', 'eof 0', 'exited 0']);
    expect(pinned.lines).toEqual([`stdout: ${marker}`]);

    // The agent asks Docker for a pinned image's labels once; removed from this Docker since, it is pulled again.
    await docker.getImage(built.ref).remove({ force: true });
    const again = new RecordingSink();
    await runJobAttempt(docker, { ...assignment('cat /opt/marker'), image: built.ref }, again, options);
    expect(again.events).toEqual(['pulling', 'running', 'eof 0', 'exited 0']);
    expect(again.lines).toEqual([`stdout: ${marker}`]);
  }, 300_000);

  it('names the container kp-<run>-<job>-<attempt>, replacing one of this stack an agent left behind under that name', async () => {
    const job = { ...assignment('echo hi'), runId: 'r-20261201-101500-ab12', jobId: `name.test/${Date.now()}`, attempt: 2 };
    const name = `kp-r-20261201-101500-ab12-${job.jobId.replace('/', '-')}-2`;
    const leftover = await docker.createContainer({
      name,
      Image: image,
      Cmd: ['true'],
      Labels: { [LABELS.stack]: options.stackLabel, [LABELS.role]: 'job' },
    });
    const seen: string[] = [];
    const sink = new RecordingSink();
    sink.report = async (type) => {
      sink.events.push(type);
      if (type === 'running') {
        const running = await docker.listContainers({ all: true, filters: { label: [`${LABELS.job}=${job.jobId}`] } });
        seen.push(...running.map((container) => container.Names[0]!));
      }
    };
    await runJobAttempt(docker, job, sink, options);
    expect(sink.events).toEqual(['pulling', 'running', 'eof 0', 'exited 0']);
    expect(seen).toEqual([`/${name}`]);
    await expect(leftover.inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("leaves a container that is not this stack's job alone, and the attempt fails to start", async () => {
    const job = { ...assignment('echo hi'), jobId: `taken${Date.now()}` };
    const name = `kp-r-test-${job.jobId}-1`;
    const other = await docker.createContainer({ name, Image: image, Cmd: ['true'] });
    try {
      const sink = new RecordingSink();
      await runJobAttempt(docker, job, sink, options);
      expect(sink.events[sink.events.length - 1]).toMatch(/^start_failed .*Conflict/);
      expect((await other.inspect()).Name).toBe(`/${name}`);
    } finally {
      await other.remove({ force: true });
    }
  });

  it('reports a start failure naming the image when it cannot be pulled', async () => {
    const sink = new RecordingSink();
    await runJobAttempt(docker, { ...assignment('true'), image: `${registry.host}/katapult/missing:nope` }, sink, options);
    expect(sink.events[0]).toBe('pulling');
    expect(sink.events.at(-1)).toMatch(/^start_failed .*katapult\/missing:nope/);
  });

  it('stages files into the work folder and stores the outputs the job wrote, naming the ones it did not', async () => {
    const sink = new RecordingSink();
    const job: Assignment = {
      ...assignment(
        [
          'test "$(pwd)" = /work',
          'mkdir out && cat data/in.txt > out/copy.txt',
          'ls -l tools/run.sh | cut -c1-10',
          'ls -l shared.txt | cut -c1-10',
          'mkdir -p results/deep && echo deep > results/deep/a.txt && echo top > results/b.txt',
          'tools/run.sh',
          // Root without CAP_DAC_OVERRIDE: a shared upload (0444) cannot be written, the job's own input copy can.
          '{ (echo changed >> shared.txt) 2>/dev/null && echo "shared written" || echo "shared refused"; }',
          'echo appended >> data/in.txt && tail -n 1 data/in.txt',
        ].join(' && '),
      ),
      files: [
        await stored('data/in.txt', 'input bytes\n'),
        await stored('shared.txt', 'shared\n', { shared: true }),
        await stored('tools/run.sh', '#!/bin/sh\necho ran\n', { executable: true, shared: true }),
      ],
      outputFiles: ['out/copy.txt', 'results', 'never-written.dat'],
    };
    await runJobAttempt(docker, job, sink, options);
    expect(sink.events).toEqual(['pulling', 'running', 'eof 0', 'exited 0']);
    expect(sink.lines).toEqual(['stdout: -r-xr-xr-x', 'stdout: -r--r--r--', 'stdout: ran', 'stdout: shared refused', 'stdout: appended']);
    expect(sink.outputs).toEqual({ object: names.outputSubject('local-0', 'r-test', job.jobId, 1), missing: ['never-written.dat'] });
    expect(await unpack(sink.outputs!.object!)).toEqual({
      'out/copy.txt': 'input bytes\n',
      'results/deep/a.txt': 'deep\n',
      'results/b.txt': 'top\n',
    });
  });

  it('runs a job in an environment image as its unprivileged user, who owns the work folder and writes outputs there', async () => {
    const sink = new RecordingSink();
    const job: Assignment = {
      ...assignment(
        [
          'id -u && id -g && id -un && echo "$HOME"',
          'cat /opt/ready',
          'stat -c "%U %a" /work',
          'echo "$(id -u) was here" > whoami.txt',
          'mkdir -p results && echo deep > results/a.txt',
          'echo appended >> data/in.txt && tail -n 1 data/in.txt',
          'stat -c "%U" data/in.txt shared.txt',
          '{ (chmod u+w shared.txt) 2>/dev/null && echo "shared chmod allowed" || echo "shared chmod refused"; }',
          '{ (touch /opt/mine) 2>/dev/null && echo "/opt written" || echo "/opt refused"; }',
          'touch "$HOME/mine" && echo "home written"',
        ].join(' && '),
      ),
      image: envImage,
      files: [await stored('data/in.txt', 'input bytes\n'), await stored('shared.txt', 'shared\n', { shared: true })],
      outputFiles: ['whoami.txt', 'results', 'data/in.txt'],
    };
    await runJobAttempt(docker, job, sink, options);
    expect(sink.events).toEqual(['pulling', 'running', 'eof 0', 'exited 0']);
    expect(sink.lines).toEqual([
      'stdout: 1000',
      'stdout: 1000',
      'stdout: katapult',
      'stdout: /home/katapult',
      'stdout: ready',
      'stdout: katapult 700',
      'stdout: appended',
      'stdout: katapult',
      'stdout: root',
      'stdout: shared chmod refused',
      'stdout: /opt refused',
      'stdout: home written',
    ]);
    expect(await unpack(sink.outputs!.object!)).toEqual({
      'whoami.txt': '1000 was here\n',
      'results/a.txt': 'deep\n',
      'data/in.txt': 'input bytes\nappended\n',
    });
  });

  it('runs a job as its user with nothing staged: the work folder is still its own', async () => {
    const sink = new RecordingSink();
    await runJobAttempt(docker, { ...assignment('id -u && echo out > out.txt'), image: envImage, outputFiles: ['out.txt'] }, sink, options);
    expect(sink.events.at(-1)).toBe('exited 0');
    expect(sink.lines).toEqual(['stdout: 1000']);
    expect(await unpack(sink.outputs!.object!)).toEqual({ 'out.txt': 'out\n' });
  });

  it('runs a job in an image without the job user label as that image runs it: root, with no capability', async () => {
    const sink = new RecordingSink();
    await runJobAttempt(docker, { ...assignment('id -u && echo out > out.txt'), outputFiles: ['out.txt'] }, sink, options);
    expect(sink.events.at(-1)).toBe('exited 0');
    expect(sink.lines).toEqual(['stdout: 0']);
    expect(await unpack(sink.outputs!.object!)).toEqual({ 'out.txt': 'out\n' });
  });

  it('confines the job: no capabilities, no new privileges, no Docker socket, a cap on processes', async () => {
    const sink = new RecordingSink();
    const job = assignment(
      [
        'grep -E "^(CapEff|CapBnd|NoNewPrivs):" /proc/self/status',
        'test -e /var/run/docker.sock && echo "docker socket present" || echo "no docker socket"',
        'grep -c docker.sock /proc/self/mountinfo || true',
        'cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max',
        'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes',
        'touch mine && { chown nobody mine 2>/dev/null && echo "chown allowed" || echo "chown refused"; }',
      ].join('; '),
    );
    await runJobAttempt(docker, job, sink, options);
    expect(sink.events.at(-1)).toBe('exited 0');
    const [capEff, capBnd, noNewPrivs, socket, socketMounts, pids, memory, chown] = sink.lines;
    expect([capEff, capBnd, noNewPrivs]).toEqual([
      'stdout: CapEff:\t0000000000000000',
      'stdout: CapBnd:\t0000000000000000',
      'stdout: NoNewPrivs:\t1',
    ]);
    expect([socket, socketMounts, pids, chown]).toEqual([
      'stdout: no docker socket',
      'stdout: 0',
      `stdout: ${JOB_PIDS_LIMIT}`,
      'stdout: chown refused',
    ]);
    // No memory of its own and no instance memory: no limit (the kernel's "max", or cgroup v1's huge number).
    expect(memory).toMatch(/^stdout: (max|\d{16,})$/);
  });

  it("limits a job's memory to its own, or to its cpus' share of the instance's; beyond it, the job is killed", async () => {
    const limitOf = async (job: Assignment, instance?: { cpus: number; memoryBytes: number | null }) => {
      const sink = new RecordingSink();
      await runJobAttempt(docker, job, sink, { ...options, ...(instance ? { instance } : {}) });
      return sink.lines;
    };
    const readLimit = 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes';
    expect(await limitOf({ ...assignment(readLimit), memoryBytes: 48 * MiB })).toEqual([`stdout: ${48 * MiB}`]);
    expect(await limitOf({ ...assignment(readLimit), cpus: 1 }, { cpus: 4, memoryBytes: 256 * MiB })).toEqual([`stdout: ${64 * MiB}`]);
    expect(await limitOf({ ...assignment(readLimit), memoryBytes: 48 * MiB }, { cpus: 4, memoryBytes: 256 * MiB })).toEqual([
      `stdout: ${48 * MiB}`,
    ]);

    // tail holds a whole "line" of 200 MB of zeros in memory: far past 32m, and there is no swap to spill into.
    const sink = new RecordingSink();
    await runJobAttempt(
      docker,
      { ...assignment('head -c 200000000 /dev/zero | tail -n 1 > /dev/null'), memoryBytes: 32 * MiB },
      sink,
      options,
    );
    expect(sink.events.at(-1)).toBe('exited 137');
  });

  it('runs a job with network none cut off from every network but its loopback', async () => {
    const interfaces = async (network: Assignment['network']) => {
      const sink = new RecordingSink();
      await runJobAttempt(docker, { ...assignment('ls /sys/class/net'), network }, sink, options);
      return sink.lines;
    };
    const none = await interfaces('none');
    expect(none).toContain('stdout: lo');
    expect(none).not.toContain('stdout: eth0');
    expect(await interfaces('bridge')).toContain('stdout: eth0');
  });

  it('stores nothing when the job wrote none of its output files', async () => {
    const sink = new RecordingSink();
    await runJobAttempt(docker, { ...assignment('exit 2'), outputFiles: ['result.dat'] }, sink, options);
    expect(sink.events.at(-1)).toBe('exited 2');
    expect(sink.outputs).toEqual({ object: null, missing: ['result.dat'] });
  });
});
