import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '@katapult/core';
import { logMessages, requireDocker, startRegistry, tempDir, type RegistryServer } from '@katapult/testkit';
import { katapult } from './cli.js';
import { startRefusingEc2, type RefusingEc2 } from './refusing-ec2.js';

describe('katapult launch with provider: aws (maestro local), up to the AWS API', () => {
  let env: NodeJS.ProcessEnv;
  let home: string;
  let config: string;
  let registry: RegistryServer;
  let ec2: RefusingEc2;

  beforeAll(async () => {
    await requireDocker();
    registry = await startRegistry();
    ec2 = await startRefusingEc2();
    home = await tempDir('e2e-aws-launch');
    const project = await tempDir('e2e-aws-project');
    config = join(project, 'aws.yaml');
    await writeFile(
      config,
      [
        'project: e2e-aws',
        'provider: aws',
        // Instances would dial this machine here; tests keep every server on loopback.
        'maestro_address: 127.0.0.1',
        `registry: ${registry.host}`,
        'instances: [{type: t3.large, cpus: 2, region: eu-west-3}]',
        'jobs: [{name: hello, run_command: "echo hello"}]',
        '',
      ].join('\n'),
    );
    env = {
      KATAPULT_HOME: home,
      KATAPULT_NATS_LISTEN: '127.0.0.1',
      AWS_ENDPOINT_URL: ec2.url,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      AWS_MAX_ATTEMPTS: '1',
    };
  });
  afterAll(async () => {
    if (env) await katapult(['down'], env);
    await registry?.stop();
    ec2?.server.close();
  }, 300_000);

  it('starts NATS with TLS for maestro_address, pushes the agent image, and reports the refusal of EC2 in one line, keeping the run', async () => {
    const launch = await katapult(['launch', config, '--detach'], env);
    const lines = launch.stderr.trim().split('\n');
    expect(launch.code).toBe(3);
    expect(lines.at(-1)).toMatch(/^KP_AWS_UNAUTHORIZED .*EC2 DescribeVpcs/);
    expect(launch.stderr).not.toMatch(/\n\s+at /);

    // The SDK went to the configured endpoint, signing for the instances' region with the given credentials.
    expect(ec2.seen[0]).toMatchObject({ action: 'DescribeVpcs' });
    expect(ec2.seen[0]!.authorization).toContain('Credential=AKIDEXAMPLE/');
    expect(ec2.seen[0]!.authorization).toContain('/eu-west-3/ec2/aws4_request');

    // NATS speaks TLS, with a certificate for the address instances dial.
    const natsConfig = await readFile(join(home, 'nats.conf'), 'utf8');
    expect(natsConfig).toContain('listen: "127.0.0.1:');
    expect(natsConfig).toMatch(/tls: \{ cert_file:/);
    expect(JSON.parse(await readFile(join(home, 'tls', 'names.json'), 'utf8'))).toEqual(['127.0.0.1']);

    // The agent image is in the run's registry, where instances pull it.
    const tags = (await (await fetch(`${registry.url}/v2/katapult/agent/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toHaveLength(1);

    // Nothing is lost: the run is stored with its job pending, and the coordinator keeps trying to start its instances.
    const [run] = JSON.parse((await katapult(['status', '--json'], env)).stdout) as RunView[];
    expect(run!.jobs.map((job) => [job.id, job.state])).toEqual([['hello', 'pending']]);
    const file = join(home, 'logs', 'coordinator.log');
    expect(logMessages({ file })).toMatch(/KP_AWS_UNAUTHORIZED/);
    expect(await readFile(file, 'utf8')).not.toContain(env['AWS_SECRET_ACCESS_KEY']!);
  }, 300_000);

  it('a local config on this stack still runs on local agents, over the same TLS NATS', async () => {
    const local = join(await tempDir('e2e-aws-local'), 'local.yaml');
    await writeFile(local, 'project: e2e-local\njobs: [{name: hi, run_command: "echo hi from a local agent"}]\n');
    const launch = await katapult(['launch', local, '--wait'], env);
    expect(launch.stderr).toBe('');
    expect(launch.code).toBe(0);
    expect((await katapult(['logs', 'hi'], env)).stdout).toBe('hi from a local agent\n');
  }, 300_000);
});
