import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvironmentSpec } from '@katapult/core';
import {
  environmentSpec,
  requireDocker,
  startRegistry,
  startWheelIndex,
  tempDir,
  type RegistryServer,
  type WheelIndex,
} from '@katapult/testkit';
import { buildEnvironment, ensureBaseImage, OciRegistry, pushImage, type BaseImage, type EnvironmentBuildRequest } from '../src/index.js';

const run = async (image: string, ...command: string[]) =>
  (await promisify(execFile)('docker', ['run', '--rm', '--network', 'none', image, ...command])).stdout.trim();
/** As the agent runs a job in an environment image: as the user its label names. */
const runAsJobUser = async (docker: Docker, image: string, ...command: string[]) => {
  const user = (await docker.getImage(image).inspect()).Config.Labels?.['katapult.user'];
  expect(user).toBe('1000:1000');
  return (await promisify(execFile)('docker', ['run', '--rm', '--network', 'none', '--user', user!, image, ...command])).stdout.trim();
};

const env = environmentSpec;

/** Real builds on the real engine: apt from Debian's mirror, pip from a package index served on 127.0.0.1. */
describe('environment images', () => {
  const docker = new Docker();
  let registry: RegistryServer;
  let index: WheelIndex;
  let base: BaseImage;
  let projectDir: string;
  let request: (spec: EnvironmentSpec) => EnvironmentBuildRequest;

  beforeAll(async () => {
    await requireDocker();
    registry = await startRegistry();
    index = await startWheelIndex({ name: 'kpdemo', version: '1.0.0', source: 'def hello():\n    return "hello from kpdemo"\n' });
    base = await ensureBaseImage(docker);
    projectDir = await tempDir('env-project');
    const logDir = await tempDir('env-logs');
    request = (spec) => ({
      env: spec,
      projectDir,
      base,
      registry: new OciRegistry(registry.host),
      buildArgs: { PIP_INDEX_URL: index.url },
      networkMode: 'host',
      logDir,
    });
  });
  afterAll(async () => {
    await index?.stop();
    await registry?.stop();
  });

  it('builds a pip environment into a venv, pushes it, and a job can import the package', async () => {
    await writeFile(join(projectDir, 'requirements.txt'), 'kpdemo==1.0.0\n');
    const built = await buildEnvironment(docker, request(env({ name: 'science', pypi: ['requirements.txt'] })));
    expect(built.built).toBe(true);
    // Jobs run it pinned by the digest the push gave; the tag stays the key builds look up.
    expect(built.ref).toBe(`${registry.host}/katapult/env@${built.digest}`);
    expect(built.tagRef).toBe(`${registry.host}/katapult/env:${built.tag}`);
    expect((await new OciRegistry(registry.host).manifestOf('katapult/env', built.tag))?.digest).toBe(built.digest);
    await docker.getImage(built.tagRef).remove(); // what an agent on another machine sees: only the registry copy
    await promisify(execFile)('docker', ['pull', built.ref]);
    expect(await run(built.ref, 'python', '-c', 'import kpdemo; print(kpdemo.hello())')).toBe('hello from kpdemo');
    expect(await runAsJobUser(docker, built.ref, 'python', '-c', 'import kpdemo; print(kpdemo.hello())')).toBe('hello from kpdemo');
    expect(
      await runAsJobUser(docker, built.ref, 'sh', '-c', 'id -un; echo $HOME; stat -c %U /work; touch /work/x $HOME/x && echo writable'),
    ).toBe('katapult\n/home/katapult\nkatapult\nwritable');

    const again = await buildEnvironment(docker, request(env({ name: 'renamed', pypi: ['requirements.txt'] })));
    expect(again).toMatchObject({ built: false, repushed: false, tag: built.tag, digest: built.digest, logFile: null });
  }, 300_000);

  it('a tag overwritten in the registry with another image is pushed again, not reused', async () => {
    const spec = env({ name: 'pinned', command: `echo built-${Date.now()} > /opt/marker` });
    const built = await buildEnvironment(docker, request(spec));
    const builtId = (await docker.getImage(built.tagRef).inspect()).Id;
    // Someone pushes another image over the content tag.
    await pushImage(docker, base.ref, built.tagRef);
    expect((await new OciRegistry(registry.host).manifestOf('katapult/env', built.tag))?.configDigest).toBe(base.id);
    // pushImage tagged the base image with that tag locally too: give the tag back to the image built for it.
    await docker.getImage(built.ref).tag({ repo: built.tagRef.slice(0, built.tagRef.lastIndexOf(':')), tag: built.tag });
    const lines: string[] = [];
    const again = await buildEnvironment(docker, { ...request(spec), onProgress: (event) => lines.push(event.message) });
    expect(again).toMatchObject({ built: false, repushed: true, digest: built.digest });
    expect(lines.join('\n')).toMatch(
      /in the registry is image [0-9a-f]{12}, not [0-9a-f]{12} built here for it: someone overwrote the tag; pushing it again/,
    );
    expect((await new OciRegistry(registry.host).manifestOf('katapult/env', built.tag))?.configDigest).toBe(builtId);
  }, 300_000);

  it('builds apt packages and then the setup command, in that order', async () => {
    const built = await buildEnvironment(
      docker,
      request(env({ name: 'tools', aptget: ['jq'], command: 'jq --version > /opt/jq-version' })),
    );
    expect(built.built).toBe(true);
    expect(await run(built.ref, 'cat', '/opt/jq-version')).toMatch(/^jq-1\./);
  }, 300_000);

  it('a missing apt package fails naming the environment and the step, and leaves other images alone', async () => {
    const good = await buildEnvironment(docker, request(env({ name: 'tools', aptget: ['jq'], command: 'jq --version > /opt/jq-version' })));
    expect(good.built).toBe(false);
    const failing = buildEnvironment(docker, request(env({ name: 'broken', aptget: ['no-such-package-katapult'] })));
    await expect(failing).rejects.toMatchObject({ code: 'KP_ENV_BUILD_FAILED', exitCode: 2 });
    await expect(failing).rejects.toThrow(/^environment "broken" failed at its apt step: /);
    expect(await new OciRegistry(registry.host).hasTag('katapult/env', good.tag)).toBe(true);
  }, 300_000);

  it('a step that cannot reach its server says why on the one line and is an infrastructure failure (exit 3)', async () => {
    // A download from a host that never resolves (.invalid), as conda's and julia's installers do when offline.
    const command = `perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => "downloads.invalid:80") or die "could not connect: $@\\n"'`;
    const failing = buildEnvironment(docker, request(env({ name: 'offline', command })));
    await expect(failing).rejects.toMatchObject({ code: 'KP_ENV_BUILD_FAILED', exitCode: 3 });
    await expect(failing).rejects.toThrow(
      /^environment "offline" failed at its command step: could not connect: IO::Socket::INET: Bad hostname 'downloads.invalid:80' \(exit code \d+\)$/,
    );
    await expect(failing).rejects.toMatchObject({
      hint: expect.stringMatching(/^a server the build needs could not be reached: .*; full build log: .*offline-[0-9a-f]+\.log$/),
    });
  }, 300_000);

  it('a missing apt package names the missing package on the one line', async () => {
    const failing = buildEnvironment(docker, request(env({ name: 'broken', aptget: ['no-such-package-katapult'] })));
    await expect(failing).rejects.toThrow(
      /^environment "broken" failed at its apt step: (E: )?Unable to locate package no-such-package-katapult \(exit code 100\)$/,
    );
    await expect(failing).rejects.toMatchObject({ exitCode: 2 });
  }, 300_000);

  it('a referenced file that is missing or escapes the project is bad input before any build', async () => {
    await expect(buildEnvironment(docker, request(env({ name: 'x', pypi: ['missing/requirements.txt'] })))).rejects.toThrow(
      'environment "x": "missing/requirements.txt" does not exist',
    );
    await expect(buildEnvironment(docker, request(env({ name: 'x', pypi: ['../requirements.txt'] })))).rejects.toMatchObject({
      code: 'KP_FILE_OUTSIDE_PROJECT',
    });
  });
});
