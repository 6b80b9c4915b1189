import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImage, OciRegistry, pushImage } from '@katapult/images';
import { requireDocker, tempDir } from '@katapult/testkit';
import { katapult } from './cli.js';

interface BuiltImage {
  name: string;
  tag: string;
  tagRef: string;
  ref: string;
  digest: string;
  built: boolean;
  repushed: boolean;
}

interface Stack {
  registry: { port: number };
  registryPull: { port: number };
}

interface Users {
  push: { username: string; password: string };
  pull: { username: string; password: string };
}

/** What a POST starting a blob upload (the first step of any push) gets; bash's /dev/tcp, as a job would do it. */
const PUSH_PROBE = [
  '#!/bin/bash',
  'for port in "$@"; do',
  '  exec 3<>/dev/tcp/127.0.0.1/$port',
  "  printf 'POST /v2/katapult/env/blobs/uploads/ HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n' >&3",
  '  echo "$port $(head -n 1 <&3 | tr -d \'\\r\')"',
  '  exec 3>&-',
  'done',
  '',
].join('\n');

async function startUpload(port: number, user?: { username: string; password: string }): Promise<number> {
  const headers: Record<string, string> = user
    ? { authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}` }
    : {};
  const response = await fetch(`http://127.0.0.1:${port}/v2/katapult/env/blobs/uploads/`, { method: 'POST', headers });
  await response.body?.cancel();
  return response.status;
}

/** The local registry takes pushes from the CLI only; jobs run their image by digest; `katapult build` sees a replaced tag. */
describe('the images are pinned and the registry is closed', () => {
  const docker = new Docker();
  let env: NodeJS.ProcessEnv;
  let home: string;
  let project: string;
  const marker = `built-${Date.now()}`;

  const config = (jobs: string) =>
    [
      'project: trust',
      'allow_host_network: true',
      'instances:',
      '  - number: 1',
      '    cpus: 2',
      'environments:',
      `  - command: echo ${marker} > /opt/marker`,
      'jobs:',
      jobs,
      '',
    ].join('\n');

  beforeAll(async () => {
    await requireDocker();
    home = await tempDir('e2e-trust');
    project = await tempDir('e2e-trust-project');
    env = { KATAPULT_HOME: home };
    await writeFile(join(project, 'push.sh'), PUSH_PROBE, { mode: 0o755 });
    await writeFile(join(project, 'katapult.yaml'), config('  - name: marker\n    run_command: cat /opt/marker'));
  });
  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it("the registry refuses a push without the CLI's credentials, and its read-only twin refuses every push", async () => {
    const first = await katapult(['build', join(project, 'katapult.yaml'), '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const stack = JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8')) as Stack;
    const users = JSON.parse(readFileSync(join(home, 'registry-auth.json'), 'utf8')) as Users;
    expect(await startUpload(stack.registry.port)).toBe(401);
    expect(await startUpload(stack.registry.port, users.pull)).toBe(401);
    expect(await startUpload(stack.registryPull.port)).toBe(401);
    // The agents' credentials read, and write nothing.
    expect(await startUpload(stack.registryPull.port, users.pull)).toBe(405);
    expect(await startUpload(stack.registry.port, users.push)).toBe(202);
  }, 600_000);

  it('a network: host job cannot push', async () => {
    const stack = JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8')) as Stack;
    const file = join(project, 'host.yaml');
    await writeFile(
      file,
      config(`  - name: probe\n    network: host\n    run_script: push.sh ${stack.registry.port} ${stack.registryPull.port}`),
    );
    const launch = await katapult(['launch', file, '--wait'], env);
    expect(launch.code, launch.stdout + launch.stderr).toBe(0);
    const logs = (await katapult(['logs', 'probe'], env)).stdout;
    expect(logs).toBe(`${stack.registry.port} HTTP/1.1 401 Unauthorized\n${stack.registryPull.port} HTTP/1.1 401 Unauthorized\n`);
  }, 600_000);

  it('a tag overwritten in the registry is not "reused": build pushes its image again, and jobs run it by digest', async () => {
    const file = join(project, 'katapult.yaml');
    const [built] = JSON.parse((await katapult(['build', file, '--json'], env)).stdout) as BuiltImage[];
    expect(built).toMatchObject({ built: false, repushed: false });
    expect(built!.ref).toMatch(/^127\.0\.0\.1:\d+\/katapult\/env@sha256:[0-9a-f]{64}$/);

    // Whoever holds the push credentials overwrites the content tag with another image.
    const users = JSON.parse(readFileSync(join(home, 'registry-auth.json'), 'utf8')) as Users;
    const base = await ensureBaseImage(docker);
    await pushImage(docker, base.ref, built!.tagRef, undefined, users.push);
    const registry = new OciRegistry(built!.tagRef.split('/')[0]!, { auth: users.push });
    expect((await registry.manifestOf('katapult/env', built!.tag))?.configDigest).toBe(base.id);
    // pushImage moved this Docker's tag to the base image too: give it back to the image built for it.
    const repo = built!.tagRef.slice(0, built!.tagRef.lastIndexOf(':'));
    await docker.getImage(`${repo}@${built!.digest}`).tag({ repo, tag: built!.tag });

    const text = await katapult(['build', file], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/someone overwrote the tag; pushing it again/);
    expect(text.stdout).toMatch(/^default +127\.0\.0\.1:\d+\/katapult\/env@sha256:[0-9a-f]{64} +pushed again$/m);
    expect((await registry.manifestOf('katapult/env', built!.tag))?.digest).toBe(built!.digest);

    const launch = await katapult(['launch', file, '--wait'], env);
    expect(launch.code, launch.stdout + launch.stderr).toBe(0);
    expect((await katapult(['logs', 'marker'], env)).stdout).toBe(`${marker}\n`);
  }, 600_000);
});
