import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DeleteRepositoryCommand, DescribeRepositoriesCommand, ECRClient, ListTagsForResourceCommand } from '@aws-sdk/client-ecr';
import { GetInstanceProfileCommand, GetRoleCommand, IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import Down from '../src/commands/down.js';

const ec2 = mockClient(EC2Client);
const iam = mockClient(IAMClient);
const ecr = mockClient(ECRClient);
const CLI_ROOT = join(import.meta.dirname, '..');

/** One project's leftovers in a fake account: an instance and its security group; describe calls see deletes. */
function account(repositories: string[] = []) {
  const state = { instances: ['i-0abc'], groups: ['sg-1'], repositories };
  const arn = (name: string) => `arn:aws:ecr:eu-west-3:123456789012:repository/${name}`;
  // The project's repositories, and another project's, which down never touches.
  ecr.on(DescribeRepositoriesCommand).callsFake(() => ({
    repositories: [...state.repositories, 'katapult/other'].map((name) => ({ repositoryName: name, repositoryArn: arn(name) })),
  }));
  ecr.on(ListTagsForResourceCommand).callsFake((input: { resourceArn: string }) => ({
    tags: [{ Key: 'katapult:project', Value: input.resourceArn.endsWith('/katapult/other') ? 'other' : 'demo' }],
  }));
  ecr.on(DeleteRepositoryCommand).callsFake((input: { repositoryName: string }) => {
    state.repositories = state.repositories.filter((name) => name !== input.repositoryName);
    return {};
  });
  ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[]; Filters?: { Name: string; Values: string[] }[] }) => {
    if (input.InstanceIds)
      return { Reservations: [{ Instances: input.InstanceIds.map((id) => ({ InstanceId: id, State: { Name: 'terminated' } })) }] };
    expect(input.Filters).toContainEqual({ Name: 'tag:katapult:project', Values: ['demo'] });
    return {
      Reservations: state.instances.length
        ? [{ Instances: state.instances.map((id) => ({ InstanceId: id, Tags: [{ Key: 'Name', Value: 'katapult-demo-0' }] })) }]
        : [],
    };
  });
  ec2.on(TerminateInstancesCommand).callsFake(() => {
    state.instances = [];
    return {};
  });
  ec2
    .on(DescribeSecurityGroupsCommand)
    .callsFake(() => ({ SecurityGroups: state.groups.map((id) => ({ GroupId: id, GroupName: 'katapult-demo' })) }));
  ec2.on(DeleteSecurityGroupCommand).callsFake(() => {
    state.groups = [];
    return {};
  });
  iam.on(GetInstanceProfileCommand).rejects(new NoSuchEntityException({ message: 'not found', $metadata: {} }));
  iam.on(GetRoleCommand).rejects(new NoSuchEntityException({ message: 'not found', $metadata: {} }));
  ec2.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [] });
  ec2.on(DescribeInternetGatewaysCommand).resolves({ InternetGateways: [] });
  ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
  ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [] });
  return state;
}

describe('katapult down CONFIG with provider: aws', () => {
  let dir: string;
  let config: string;
  const saved = { ...process.env };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kp-down-aws-'));
    config = join(dir, 'katapult.yaml');
    writeFileSync(
      config,
      'project: demo\nprovider: aws\nregistry: ecr\nmaestro_address: 203.0.113.5\ninstances: [{type: t3.large, region: eu-west-3}]\njobs: [{run_command: "true"}]\n',
    );
    // An empty state folder: no local stack is running, so only AWS is touched.
    Object.assign(process.env, { KATAPULT_HOME: join(dir, 'home'), AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' });
  });
  afterAll(() => {
    process.env = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    ec2.reset();
    iam.reset();
    ecr.reset();
  });

  async function down(...argv: string[]): Promise<{ lines: string[]; result: unknown }> {
    const lines: string[] = [];
    // What the command prints: its text lines, and under --json the object oclif prints.
    const log = vi.spyOn(Down.prototype, 'log').mockImplementation(function (this: Down, line?: string) {
      if (!this.jsonEnabled()) lines.push(line ?? '');
    });
    // logJson is protected: spied on through the shape it has.
    const json = vi
      .spyOn(Down.prototype as unknown as { logJson(value: unknown): void }, 'logJson')
      .mockImplementation((value: unknown) => void lines.push(JSON.stringify(value)));
    try {
      const result = await Down.run(argv, CLI_ROOT);
      return { lines, result };
    } finally {
      log.mockRestore();
      json.mockRestore();
    }
  }

  it('--dry-run lists the project resources and removes nothing', async () => {
    const state = account();
    const { lines } = await down(config, '--dry-run');
    expect(lines).toEqual([
      'would stop the local stack (agent and job containers, coordinator, registry, nats-server)',
      'would remove instance i-0abc (katapult-demo-0)',
      'would remove security group sg-1 (katapult-demo)',
    ]);
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(state).toEqual({ instances: ['i-0abc'], groups: ['sg-1'], repositories: [] });
  });

  it('removes them, instances first, then finds nothing the second time', async () => {
    account();
    const first = await down(config);
    expect(first.lines).toEqual([
      'nothing was running',
      'removed instance i-0abc (katapult-demo-0)',
      'removed security group sg-1 (katapult-demo)',
    ]);
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: ['i-0abc'] });
    const second = await down(config, '--json');
    expect(JSON.parse(second.lines.join('\n'))).toEqual({
      containers: [],
      processes: [],
      aws: { project: 'demo', dryRun: false, items: [], kept: [] },
    });
  });

  it("says it keeps the project's ECR repository, and why; --images removes it with its images, and no other project's", async () => {
    const state = account(['katapult/env']);
    const first = await down(config);
    expect(first.lines.slice(1)).toEqual([
      'removed instance i-0abc (katapult-demo-0)',
      'removed security group sg-1 (katapult-demo)',
      "ECR repository katapult/env kept: its images are content-tagged and shared by every launch of the account's projects; --images removes it",
    ]);
    expect(state.repositories).toEqual(['katapult/env']);
    // Nothing else left: it is not "no AWS resource is tagged", since the repository is.
    const second = await down(config, '--json');
    expect(JSON.parse(second.lines.join('\n')).aws.kept).toEqual([
      { kind: 'ECR repository', id: 'katapult/env', reason: expect.stringContaining('--images removes it') },
    ]);

    const dry = await down(config, '--images', '--dry-run');
    expect(dry.lines.at(-1)).toBe('would remove ECR repository katapult/env with its images');
    expect(state.repositories).toEqual(['katapult/env']);
    const images = await down(config, '--images');
    expect(images.lines.at(-1)).toBe('removed ECR repository katapult/env with its images');
    expect(ecr.commandCalls(DeleteRepositoryCommand).map((call) => call.args[0].input)).toEqual([
      { repositoryName: 'katapult/env', force: true },
    ]);
    expect(state.repositories).toEqual([]);
    expect((await down(config)).lines.at(-1)).toBe('no AWS resource is tagged katapult:project=demo');
  });

  it('a state folder recording a maestro keeps its secrets until that project is brought down', async () => {
    const home = process.env['KATAPULT_HOME']!;
    mkdirSync(home, { recursive: true });
    const remote = {
      project: 'demo',
      region: 'eu-west-3',
      profile: null,
      instanceId: 'i-0abc',
      publicIp: '203.0.113.9',
      privateIp: '10.0.0.9',
      natsPort: 4222,
      httpPort: 8443,
      tlsName: 'maestro.demo.katapult',
      cluster: 'demo',
      label: 'maestro-demo',
    };
    writeFileSync(join(home, 'remote.json'), JSON.stringify(remote));
    writeFileSync(join(home, 'api-token'), 'token\n');
    account();
    const errors: string[] = [];
    const stderr = vi.spyOn(Down.prototype, 'logToStderr').mockImplementation((line?: string) => void errors.push(line ?? ''));
    await expect(down()).rejects.toMatchObject({ oclif: { exit: 2 } });
    stderr.mockRestore();
    expect(errors).toEqual([
      `KP_STACK_KIND ${home} records the maestro of project demo (203.0.113.9) (remove it with: katapult down <the config of project demo>)`,
    ]);
    expect(existsSync(join(home, 'api-token'))).toBe(true);
    const { lines } = await down(config);
    expect(lines).toEqual(['removed instance i-0abc (katapult-demo-0)', 'removed security group sg-1 (katapult-demo)']);
    expect([existsSync(join(home, 'remote.json')), existsSync(join(home, 'api-token'))]).toEqual([false, false]);
  });
});
