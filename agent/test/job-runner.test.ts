import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImage, pushImage } from '@katapult/images';
import { requireDocker, startRegistry, type RegistryServer } from '@katapult/testkit';
import type { Assignment } from '@katapult/core';
import { LABELS, runJobAttempt, type JobSink } from '../src/index.js';

/** One job attempt on the real Docker engine, its image pulled from a real registry. */
class RecordingSink implements JobSink {
  readonly events: string[] = [];
  readonly lines: string[] = [];
  async report(type: 'pulling' | 'running') {
    this.events.push(type);
  }
  async exited(exitCode: number) {
    this.events.push(`exited ${exitCode}`);
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
  let registry: RegistryServer;
  let image: string;

  beforeAll(async () => {
    await requireDocker();
    registry = await startRegistry();
    const base = await ensureBaseImage(docker);
    image = `${registry.host}/katapult/base:runner-test`;
    await pushImage(docker, base.ref, image);
    await docker.getImage(image).remove().catch(() => undefined); // so the runner has to pull it
  });
  afterAll(async () => {
    await registry?.stop();
  });

  const assignment = (runCommand: string): Assignment => ({ v: 1, runId: 'r-test', jobId: `j${Date.now()}`, attempt: 1, image, runCommand, cpus: 1 });

  it('pulls, runs, streams each line in order, reports the exit code and removes the container', async () => {
    const sink = new RecordingSink();
    const job = assignment('for i in 1 2 3; do echo "out $i"; done; echo "err" >&2; exit 7');
    await runJobAttempt(docker, job, sink, { agentId: 'local-0', stackLabel: 'kptest' });
    expect(sink.events).toEqual(['pulling', 'running', 'eof 7', 'exited 7']);
    expect(sink.lines.filter((line) => line.startsWith('stdout'))).toEqual(['stdout: out 1', 'stdout: out 2', 'stdout: out 3']);
    expect(sink.lines).toContain('stderr: err');
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.job}=${job.jobId}`] } });
    expect(left).toEqual([]);
  });

  it('reports a start failure naming the image when it cannot be pulled', async () => {
    const sink = new RecordingSink();
    await runJobAttempt(docker, { ...assignment('true'), image: `${registry.host}/katapult/missing:nope` }, sink, { agentId: 'local-0', stackLabel: 'kptest' });
    expect(sink.events[0]).toBe('pulling');
    expect(sink.events.at(-1)).toMatch(/^start_failed .*katapult\/missing:nope/);
  });
});
