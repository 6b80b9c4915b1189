import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '@katapult/core';
import { connectDocker, ensureBaseImage, ensureMaestroImage, ensureNodeImage } from '@katapult/images';
import { freePort, requireDocker, startRegistry, tempDir, waitFor, type RegistryServer } from '@katapult/testkit';
import { katapult, REPO_ROOT } from './cli.js';
import { startRefusingEc2, type RefusingEc2 } from './refusing-ec2.js';

const exec = promisify(execFile);
const PROJECT = 'e2e-remote';
const TLS_NAME = `maestro.${PROJECT}.katapult`;

/**
 * `maestro: remote` from the CLI's side. EC2 is a stand-in that refuses every call, so the first launch makes the
 * stack's secrets and the maestro image and then fails to start the instance; the test then plays EC2's part,
 * running that image with those secrets on 127.0.0.1 as the boot script would, and records it as launched. From
 * there everything is real: the CLI reaches the maestro only over TLS, checked against its certificate's name.
 */
describe('katapult with a remote maestro', () => {
  const container = `kp-maestro-remote-${randomBytes(4).toString('hex')}`;
  let env: NodeJS.ProcessEnv;
  let home: string;
  let config: string;
  let registry: RegistryServer;
  let ec2: RefusingEc2;
  let state: string;

  beforeAll(async () => {
    await requireDocker();
    registry = await startRegistry();
    ec2 = await startRefusingEc2();
    home = await tempDir('e2e-remote-home');
    const project = await tempDir('e2e-remote-project');
    await writeFile(join(project, 'greeting.txt'), 'hello from the project folder\n');
    config = join(project, 'remote.yaml');
    await writeFile(
      config,
      [
        `project: ${PROJECT}`,
        'provider: aws',
        'maestro: remote',
        'maestro_cidr: 127.0.0.1/32',
        `registry: ${registry.host}`,
        'instances: [{type: t3.large, region: eu-west-3}]',
        'jobs: [{name: greet, run_command: "cat greeting.txt", upload_files: greeting.txt}]',
        '',
      ].join('\n'),
    );
    env = {
      KATAPULT_HOME: home,
      AWS_ENDPOINT_URL: ec2.url,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      AWS_MAX_ATTEMPTS: '1',
    };
  });
  afterAll(async () => {
    await exec('docker', ['rm', '-f', container]).catch(() => undefined);
    await registry?.stop();
    ec2?.server.close();
    if (state) await rm(state, { recursive: true, force: true });
  });

  it('the first launch makes the stack secrets and the maestro image, then reports that EC2 refused the maestro', async () => {
    const launch = await katapult(['launch', config, '--detach'], env);
    expect(launch.code).toBe(3);
    expect(launch.stderr.trim().split('\n').at(-1)).toMatch(/^KP_AWS_UNAUTHORIZED .*EC2 DescribeVpcs/);
    expect(launch.stdout).toContain('starting the maestro (t3.small in eu-west-3), reachable from 127.0.0.1/32');
    // Nothing runs on this machine for a remote maestro.
    expect(launch.stdout).not.toContain('starting nats-server');
    const tags = (await (await fetch(`${registry.url}/v2/katapult/maestro/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toHaveLength(1);
    expect(await readFile(join(home, 'tls', 'names.json'), 'utf8')).toContain(TLS_NAME);
  }, 600_000);

  it('with the maestro up, launch submits to it over TLS; status reads it; plain down keeps its keys', async () => {
    // What EC2 and the boot script would do: the maestro image, with the secrets the CLI made, on this machine.
    const engine = connectDocker();
    const node = await ensureNodeImage(engine, (await ensureBaseImage(engine)).ref);
    const image = (await ensureMaestroImage(engine, { repoRoot: REPO_ROOT, nodeImage: node.ref })).ref;
    state = await tempDir('e2e-remote-state');
    await mkdir(join(state, 'tls'));
    for (const [from, to] of [
      ['tls/ca.pem', 'tls/ca.pem'],
      ['tls/nats.pem', 'tls/server.pem'],
      ['tls/nats-key.pem', 'tls/server-key.pem'],
      ['nats-auth.json', 'nats-auth.json'],
      ['api-token', 'api-token'],
    ]) {
      await copyFile(join(home, from!), join(state, to!));
    }
    const [natsPort, httpPort] = [await freePort(), await freePort()];
    const envFile = join(state, 'maestro.env');
    await writeFile(
      envFile,
      [
        `KATAPULT_CLUSTER=${PROJECT}`,
        `KATAPULT_STACK_LABEL=maestro-${PROJECT}`,
        `KATAPULT_TLS_NAME=${TLS_NAME}`,
        `KATAPULT_NATS_PORT=${natsPort}`,
        `KATAPULT_HTTP_PORT=${httpPort}`,
        'KATAPULT_LISTEN=127.0.0.1',
        'AWS_REGION=eu-west-3',
        `AWS_ENDPOINT_URL=${ec2.url}`,
        `AWS_ACCESS_KEY_ID=${env['AWS_ACCESS_KEY_ID']}`,
        `AWS_SECRET_ACCESS_KEY=${env['AWS_SECRET_ACCESS_KEY']}`,
        'AWS_MAX_ATTEMPTS=1',
        '',
      ].join('\n'),
    );
    await exec('docker', ['run', '-d', '--name', container, '--network', 'host', '-v', `${state}:/state`, '--env-file', envFile, image]);
    const remote = {
      project: PROJECT,
      region: 'eu-west-3',
      profile: null,
      instanceId: 'i-0e2e',
      publicIp: '127.0.0.1',
      privateIp: '127.0.0.1',
      natsPort,
      httpPort,
      tlsName: TLS_NAME,
      cluster: PROJECT,
      label: `maestro-${PROJECT}`,
    };
    await writeFile(join(home, 'remote.json'), JSON.stringify(remote), { mode: 0o600 });
    await waitFor(async () => (await katapult(['status', '--all', '--json'], env)).code === 0, {
      what: 'the maestro to answer the CLI',
      timeoutMs: 60_000,
      intervalMs: 500,
    });

    const launch = await katapult(['launch', config, '--detach'], env);
    // The maestro is up, so none is launched: the run goes to it, and its coordinator meets the refusing EC2.
    expect(launch.stdout).not.toContain('starting the maestro');
    expect(launch.stdout).toContain('files: 1 uploaded');
    expect(launch.stderr.trim().split('\n').at(-1)).toMatch(/^KP_AWS_UNAUTHORIZED .*EC2 DescribeVpcs/);
    expect(launch.code).toBe(3);

    const [run] = JSON.parse((await katapult(['status', '--json'], env)).stdout) as RunView[];
    expect(run!.jobs.map((job) => [job.id, job.state])).toEqual([['greet', 'pending']]);
    const agentTags = (await (await fetch(`${registry.url}/v2/katapult/agent/tags/list`)).json()) as { tags: string[] };
    expect(agentTags.tags).toHaveLength(1);

    const down = await katapult(['down'], env);
    expect(down.code).toBe(2);
    expect(down.stderr).toContain(`KP_STACK_KIND ${home} records the maestro of project ${PROJECT} (127.0.0.1)`);
    expect((await katapult(['status', '--json'], env)).code).toBe(0);
  }, 600_000);
});
