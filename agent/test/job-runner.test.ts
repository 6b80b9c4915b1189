import { createHash } from 'node:crypto';
import Docker from 'dockerode';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Objm, type ObjectStore } from '@nats-io/obj';
import * as tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImage, pushImage } from '@katapult/images';
import { requireDocker, startNats, startRegistry, tempDir, type NatsServer, type RegistryServer } from '@katapult/testkit';
import { clusterNames, type Assignment, type JobOutputs, type StagedFile } from '@katapult/core';
import { LABELS, openJobFileStore, runJobAttempt, type JobFileStore, type JobSink } from '../src/index.js';

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
  let options: { agentId: string; stackLabel: string; files: JobFileStore };

  beforeAll(async () => {
    await requireDocker();
    registry = await startRegistry();
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    objects = await new Objm(nc).create(names.fileStore);
    files = await openJobFileStore(nc, names, await tempDir('agent-cache'));
    options = { agentId: 'local-0', stackLabel: 'kptest', files };
    const base = await ensureBaseImage(docker);
    image = `${registry.host}/katapult/base:runner-test`;
    await pushImage(docker, base.ref, image);
    await docker.getImage(image).remove().catch(() => undefined); // so the runner has to pull it
  });
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
    files: [],
    outputFiles: [],
  });

  const stored = async (path: string, content: string, flags: Partial<StagedFile> = {}): Promise<StagedFile> => {
    const object = `sha256-${createHash('sha256').update(content).digest('hex')}`;
    await objects.putBlob({ name: object }, new TextEncoder().encode(content));
    return { path, object, size: Buffer.byteLength(content), executable: false, shared: false, ...flags };
  };

  const unpack = async (object: string): Promise<Record<string, string>> => {
    const bytes = await objects.getBlob(object);
    const entries: Record<string, string> = {};
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (header.type === 'file') entries[header.name] = Buffer.concat(chunks).toString();
        next();
      });
    });
    const done = new Promise((resolve) => extract.on('finish', resolve));
    extract.end(Buffer.from(bytes!));
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
    expect(sink.lines).toEqual(['stdout: -r-xr-xr-x', 'stdout: -r--r--r--', 'stdout: ran']);
    expect(sink.outputs).toEqual({ object: names.outputObject('r-test', job.jobId, 1), missing: ['never-written.dat'] });
    expect(await unpack(sink.outputs!.object!)).toEqual({
      'out/copy.txt': 'input bytes\n',
      'results/deep/a.txt': 'deep\n',
      'results/b.txt': 'top\n',
    });
  });

  it('stores nothing when the job wrote none of its output files', async () => {
    const sink = new RecordingSink();
    await runJobAttempt(docker, { ...assignment('exit 2'), outputFiles: ['result.dat'] }, sink, options);
    expect(sink.events.at(-1)).toBe('exited 2');
    expect(sink.outputs).toEqual({ object: null, missing: ['result.dat'] });
  });
});
