import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkAwsCredentials,
  checkDebootstrap,
  checkDockerEngine,
  checkDockerRegistry,
  checkLocalStack,
  checkNatsServer,
  parseVersion,
  versionAtLeast,
} from '../../src/doctor/doctor-checks.js';
import { StateFolder } from '../../src/state/state-folder.js';

const tempDir = (prefix: string) => mkdtemp(join(tmpdir(), `katapult-${prefix}-`));

/** A stand-in executable printing `output`, as `nats-server --version` would. */
async function fakeBinary(name: string, output: string): Promise<string> {
  const path = join(await tempDir('doctor-bin'), name);
  await writeFile(path, `#!/bin/sh\necho '${output}'\n`);
  await chmod(path, 0o755);
  return path;
}

describe('doctor checks', () => {
  it('reads versions and compares them part by part', () => {
    expect(parseVersion('nats-server: v2.10.22')).toEqual([2, 10, 22]);
    expect(parseVersion('nats-server version 2.9')).toEqual([2, 9]);
    expect(parseVersion('no version here')).toBeUndefined();
    expect(versionAtLeast([2, 10, 0], [2, 9])).toBe(true);
    expect(versionAtLeast([2, 9], [2, 9])).toBe(true);
    expect(versionAtLeast([2, 8, 4], [2, 9])).toBe(false);
    expect(versionAtLeast([3, 0], [2, 9])).toBe(true);
  });

  it('nats-server: ok from 2.9, fail when older or missing, saying how to install it', async () => {
    const recent = await fakeBinary('nats-server', 'nats-server: v2.10.22');
    expect(await checkNatsServer(() => recent)).toEqual({ name: 'nats-server', status: 'ok', detail: `2.10.22 at ${recent}` });
    const old = await fakeBinary('nats-server', 'nats-server: v2.8.4');
    expect(await checkNatsServer(() => old)).toEqual({
      name: 'nats-server',
      status: 'fail',
      detail: `2.8.4 at ${old} is too old (JetStream needs ≥ 2.9) — install nats-server ≥ 2.9: apt-get install nats-server (or: pnpm run setup)`,
    });
    const missing = await checkNatsServer(() => undefined);
    expect(missing.status).toBe('fail');
    expect(missing.detail).toMatch(/^not installed — install nats-server ≥ 2\.9: apt-get install nats-server/);
  });

  it('docker-registry is required, debootstrap only warns', async () => {
    expect((await checkDockerRegistry(() => undefined)).status).toBe('fail');
    expect(await checkDockerRegistry(() => '/usr/bin/docker-registry')).toEqual({
      name: 'docker-registry',
      status: 'ok',
      detail: '/usr/bin/docker-registry',
    });
    expect(await checkDebootstrap(() => undefined)).toEqual({
      name: 'debootstrap',
      status: 'warn',
      detail: 'not installed; needed only when no Debian base image can be pulled — apt-get install debootstrap',
    });
  });

  it('an unreachable Docker engine fails with the fix', async () => {
    const result = await checkDockerEngine({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(result.status).toBe('fail');
    expect(result.detail).toMatch(/^cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker.sock.*dockerd/);
  });

  it('the local stack: not started, or which servers are down', async () => {
    const dir = await tempDir('doctor-stack');
    expect(await checkLocalStack(new StateFolder(dir))).toEqual({
      name: 'local stack',
      status: 'ok',
      detail: `not started — katapult launch starts it (state folder ${dir})`,
    });
    const dead = 2 ** 22 + 12345; // above Linux's pid_max, so no process has it
    const stack = { label: 'kp1', cluster: 'local', nats: { pid: process.pid, port: 4222 }, registry: { pid: dead, port: 5000 } };
    await writeFile(join(dir, 'stack.json'), JSON.stringify(stack));
    expect(await checkLocalStack(new StateFolder(dir))).toEqual({
      name: 'local stack',
      status: 'warn',
      detail: 'registry, coordinator not running — katapult launch starts them again',
    });
    await writeFile(
      join(dir, 'stack.json'),
      JSON.stringify({
        ...stack,
        registry: { pid: process.pid, port: 5000 },
        coordinator: { pid: process.pid, port: 8080, agentImage: 'x' },
      }),
    );
    expect(await checkLocalStack(new StateFolder(dir))).toEqual({
      name: 'local stack',
      status: 'ok',
      detail: `running: nats-server :4222, registry :5000, coordinator :8080 (state folder ${dir})`,
    });
  });

  it('AWS credentials: from the environment or the credentials file, else a warning; never required', async () => {
    const home = await tempDir('doctor-home');
    expect(await checkAwsCredentials({}, home)).toEqual({
      name: 'aws credentials',
      status: 'warn',
      detail: 'none found; needed only for provider: aws / registry: ecr',
    });
    expect((await checkAwsCredentials({ AWS_ACCESS_KEY_ID: 'AKIA' }, home)).status).toBe('ok');
    expect(await checkAwsCredentials({ AWS_PROFILE: 'research' }, home)).toEqual({
      name: 'aws credentials',
      status: 'ok',
      detail: 'profile research (AWS_PROFILE)',
    });
    await mkdir(join(home, '.aws'));
    await writeFile(join(home, '.aws', 'credentials'), '[default]\n');
    expect(await checkAwsCredentials({}, home)).toEqual({
      name: 'aws credentials',
      status: 'ok',
      detail: join(home, '.aws', 'credentials'),
    });
  });
});
