import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '@katapult/core';
import {
  requireDocker,
  startMoto,
  startRegistry,
  tempDir,
  waitFor,
  type MotoRequest,
  type MotoServer,
  type RegistryServer,
} from '@katapult/testkit';
import { prepareEcr } from '@katapult/images/ecr';
import { katapult, REPO_ROOT } from './cli.js';
import {
  countProjectResources,
  motoClients,
  NOTHING_LEFT,
  projectInstances,
  TEST_CREDENTIALS,
  type MotoClients,
} from './moto-resources.js';

const PROJECT = 'e2e-moto';
const REGION = 'eu-west-3';

/** The RunInstances calls moto received, as query parameters. */
const runInstances = (requests: MotoRequest[]) =>
  requests.filter((request) => request.service === 'ec2' && request.action === 'RunInstances').map((request) => request.params);

describe('provider: aws against moto: launch, replacement, interruption and down leave nothing behind', () => {
  let moto: MotoServer;
  let registry: RegistryServer;
  let clients: MotoClients;
  let env: NodeJS.ProcessEnv;
  let config: string;

  beforeAll(async () => {
    await requireDocker();
    [moto, registry] = await Promise.all([startMoto(), startRegistry()]);
    clients = motoClients(moto.url, REGION);
    const home = await tempDir('e2e-aws-moto');
    config = join(await tempDir('e2e-aws-moto-project'), 'aws.yaml');
    await writeFile(
      config,
      [
        `project: ${PROJECT}`,
        'provider: aws',
        // Instances would dial this machine here; tests keep every server on loopback. moto runs no boot script.
        'maestro_address: 127.0.0.1',
        `registry: ${registry.host}`,
        'instances:',
        `  - {type: t3.large, number: 2, region: ${REGION}}`,
        `  - {type: t3.large, number: 2, region: ${REGION}, eco: true}`,
        'jobs: [{name: hello, run_command: "echo hello"}]',
        '',
      ].join('\n'),
    );
    env = {
      KATAPULT_HOME: home,
      KATAPULT_NATS_LISTEN: '127.0.0.1',
      AWS_ENDPOINT_URL: moto.url,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_MAX_ATTEMPTS: '2',
    };
  });
  afterAll(async () => {
    if (env) await katapult(['down', config], env);
    await registry?.stop();
    await moto?.stop();
  }, 300_000);

  it('launches 2 on-demand and 2 spot instances with requests EC2 accepts: no disk keys, no max_bid, nothing sent for them', async () => {
    const launch = await katapult(['launch', config, '--detach'], env);
    expect(launch.stderr).not.toMatch(/NodeVersionSupportWarning|KP_/);
    expect(launch.code).toBe(0);

    const live = await waitFor(
      async () => {
        const instances = await projectInstances(clients, PROJECT, ['pending', 'running']);
        return instances.length >= 4 && instances;
      },
      { what: '4 instances of the project in moto', timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(live).toHaveLength(4);
    expect(live.filter((instance) => instance.InstanceLifecycle === 'spot')).toHaveLength(2);
    for (const instance of live) {
      expect(instance.InstanceType).toBe('t3.large');
      // No img_id: the latest Debian 12 AMI (testkit's moto serves two).
      expect(instance.ImageId).toBe('ami-0de12a0000000002');
    }

    const calls = runInstances(await moto.requests());
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const params of calls) {
      // Nothing of a root volume is sent when disk_size and disk_type are not set (not VolumeSize=0, not VolumeType="").
      expect(Object.keys(params).filter((key) => key.startsWith('BlockDeviceMapping'))).toEqual([]);
      expect(Object.keys(params).filter((key) => /MaxPrice|SpotPrice/.test(key))).toEqual([]);
      expect(Object.values(params)).not.toContain('');
      expect(params['MetadataOptions.HttpTokens']).toBe('required');
    }
    const spot = calls.filter((params) => params['InstanceMarketOptions.MarketType'] === 'spot');
    expect(spot.map((params) => params['InstanceMarketOptions.SpotOptions.SpotInstanceType'])).toEqual(spot.map(() => 'one-time'));
    expect(spot.reduce((sum, params) => sum + Number(params['MaxCount']), 0)).toBe(2);
    // The boot script says no memory limit rather than 0 bytes.
    for (const params of calls)
      expect(Buffer.from(params['UserData'] ?? '', 'base64').toString('utf8')).not.toMatch(/KATAPULT_MEMORY_BYTES=0\b/);

    const status = await katapult(['status', '--json'], env);
    expect(status.code).toBe(0);
    const [run] = JSON.parse(status.stdout) as Array<{ jobs: Array<{ id: string; state: string }> }>;
    // moto starts no agent: the job waits, and the run is kept.
    expect(run!.jobs.map((job) => [job.id, job.state])).toEqual([['hello', 'pending']]);
  }, 300_000);

  it("replaces an instance terminated behind the coordinator's back", async () => {
    const before = await projectInstances(clients, PROJECT, ['pending', 'running']);
    expect(before).toHaveLength(4);
    const victim = before.find((instance) => instance.InstanceLifecycle !== 'spot')!;
    await clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: [victim.InstanceId!] }));
    const after = await waitFor(
      async () => {
        const instances = await projectInstances(clients, PROJECT, ['pending', 'running']);
        return instances.length === 4 && !instances.some((instance) => instance.InstanceId === victim.InstanceId) && instances;
      },
      { what: 'a replacement of the terminated instance', timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(after.filter((instance) => instance.InstanceLifecycle !== 'spot')).toHaveLength(2);
  }, 300_000);

  it('down removes every resource of the project but its ECR repository, saying why; down --images removes that; a last down finds nothing', async () => {
    // What a launch with registry: ecr makes first: the project's repository, tagged.
    await prepareEcr(clients.ecr, { repository: 'katapult/env', tags: { 'katapult:project': PROJECT } });
    const before = await countProjectResources(clients, PROJECT);
    expect(before['ECR repositories']).toBe(1);
    expect(before.instances).toBe(4);
    expect(before['security groups']).toBe(1);
    expect(before['IAM roles']).toBe(1);
    expect(before['instance profiles']).toBe(1);

    const down = await katapult(['down', config], env);
    expect(down.stderr).toBe('');
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/removed instance i-/);
    expect(down.stdout).toContain('ECR repository katapult/env kept: ');
    expect(await countProjectResources(clients, PROJECT)).toEqual({ ...NOTHING_LEFT, 'ECR repositories': 1 });

    const images = await katapult(['down', config, '--images'], env);
    expect(images.stderr).toBe('');
    expect(images.code).toBe(0);
    expect(images.stdout).toContain('removed ECR repository katapult/env with its images');
    expect(await countProjectResources(clients, PROJECT)).toEqual(NOTHING_LEFT);

    const again = await katapult(['down', config], env);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`no AWS resource is tagged katapult:project=${PROJECT}`);
    expect(await countProjectResources(clients, PROJECT)).toEqual(NOTHING_LEFT);
  }, 300_000);

  it('Ctrl-C during launch, then down: nothing is left', async () => {
    const before = runInstances(await moto.requests()).length;
    const child = spawn(process.execPath, [join(REPO_ROOT, 'cli', 'bin', 'run.js'), 'launch', config], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Interrupted once the coordinator has begun launching.
    await waitFor(async () => runInstances(await moto.requests()).length > before, {
      what: 'a RunInstances call',
      timeoutMs: 180_000,
      intervalMs: 200,
    });
    child.kill('SIGINT');
    const code = await exited;
    // The coordinator has the run (the CLI may not have its id yet): it goes on launching until down stops it.
    expect(stderr).toMatch(/detached from run \S+; it goes on|interrupted before the run was submitted/);
    expect(stderr).not.toMatch(/\n\s+at |NodeVersionSupportWarning/);
    expect(code).toBe(ExitCode.interrupted);

    const down = await katapult(['down', config], env);
    expect(down.stderr).toBe('');
    expect(down.code).toBe(0);
    expect(await countProjectResources(clients, PROJECT)).toEqual(NOTHING_LEFT);
  }, 300_000);
});
