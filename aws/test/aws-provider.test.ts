import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeInternetGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  ModifySubnetAttributeCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  IAMClient,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KatapultError, poolIdOf } from '@katapult/core';
import { AwsProvider, type AwsProviderOptions } from '../src/aws-provider.js';
import { runInstancesInput } from '../src/launch-input.js';
import { ecrPullPolicy, EC2_TRUST_POLICY } from '../src/resources/instance-role.js';
import { renderUserData } from '../src/user-data.js';
import { callOrder, ec2Error, instancesOf } from './aws-helpers.js';

/** AWS cannot be reached from here: EC2 and IAM are aws-sdk-client-mock stubs, and every call is checked. */
const ec2 = mockClient(EC2Client);
const iam = mockClient(IAMClient);
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const clients = () => ({
  ec2: new EC2Client({ region: 'eu-west-3', credentials }),
  iam: new IAMClient({ region: 'eu-west-3', credentials }),
});
const AGENT_IMAGE = '123456789012.dkr.ecr.eu-west-3.amazonaws.com/katapult/agent:0a1b2c';
const NOW = Date.parse('2026-11-25T10:00:00Z');
const context = { project: 'demo', runId: 'r-20261125-100000-abcd' };
const noSuchEntity = () => new NoSuchEntityException({ message: 'not found', $metadata: {} });

let tokens: number;
let slept: number[];
let logs: string[];
function providerOptions(extra: Partial<AwsProviderOptions> = {}): AwsProviderOptions {
  return {
    cluster: 'c1',
    region: 'eu-west-3',
    agent: {
      image: AGENT_IMAGE,
      natsUrl: 'nats://203.0.113.5:4222',
      natsUser: 'katapult-agent',
      natsPassword: 'pw',
      stackLabel: 's1',
      heartbeatMs: 2000,
    },
    newToken: () => `token-${++tokens}`,
    now: () => NOW,
    sleep: async (ms) => void slept.push(ms),
    log: (line) => logs.push(line),
    ...extra,
  };
}
function provider(extra: Partial<AwsProviderOptions> = {}) {
  return new AwsProvider(clients(), providerOptions(extra));
}

/** A region with a default VPC, nothing of the project yet, and EC2 launching what it is asked for. */
function freshAccount() {
  ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-default', IsDefault: true }] });
  ec2.on(DescribeSubnetsCommand).resolves({
    Subnets: [
      { SubnetId: 'subnet-b', AvailabilityZone: 'eu-west-3b' },
      { SubnetId: 'subnet-a', AvailabilityZone: 'eu-west-3a' },
    ],
  });
  ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
  ec2.on(CreateSecurityGroupCommand).resolves({ GroupId: 'sg-1' });
  iam.on(GetRoleCommand).rejects(noSuchEntity());
  iam.on(GetInstanceProfileCommand).rejects(noSuchEntity());
  iam.on(CreateRoleCommand).resolves({});
  iam.on(CreateInstanceProfileCommand).resolves({});
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  ec2.on(DescribeInstanceTypesCommand).resolves({
    InstanceTypes: [{ InstanceType: 't3.large', ProcessorInfo: { SupportedArchitectures: ['x86_64'] }, VCpuInfo: { DefaultVCpus: 2 } }],
  });
  ec2.on(DescribeImagesCommand).resolves({
    Images: [
      { ImageId: 'ami-old', CreationDate: '2026-01-01T00:00:00.000Z', RootDeviceName: '/dev/xvda' },
      { ImageId: 'ami-new', CreationDate: '2026-11-01T00:00:00.000Z', RootDeviceName: '/dev/xvda' },
    ],
  });
  let next = 0;
  ec2.on(RunInstancesCommand).callsFake((input: { MaxCount: number }) => ({
    Instances: Array.from({ length: input.MaxCount }, () => ({ InstanceId: `i-0${(++next).toString(16).padStart(4, '0')}` })),
  }));
}

const runInputs = () => ec2.commandCalls(RunInstancesCommand).map((call) => call.args[0].input);

describe('AWS provider: launch', () => {
  beforeEach(() => {
    ec2.reset();
    iam.reset();
    tokens = 0;
    slept = [];
    logs = [];
  });

  it('on-demand: network, security group, role and profile, then the missing instances, in this order and with these inputs', async () => {
    freshAccount();
    const specs = instancesOf('instances: [{type: t3.large, cpus: 2, number: 2, disk_size: 30, disk_type: gp3}]');
    const ids = await provider().ensure(specs, context);

    expect(ids).toEqual(['i-00001', 'i-00002']);
    expect(callOrder({ ec2, iam })).toEqual([
      'ec2.DescribeVpcs',
      'ec2.DescribeSubnets',
      'ec2.DescribeSecurityGroups',
      'ec2.CreateSecurityGroup',
      'iam.GetRole',
      'iam.CreateRole',
      'iam.PutRolePolicy',
      'iam.GetInstanceProfile',
      'iam.CreateInstanceProfile',
      'iam.AddRoleToInstanceProfile',
      'ec2.DescribeInstances',
      'ec2.DescribeInstanceTypes',
      'ec2.DescribeImages',
      'ec2.RunInstances',
    ]);
    const tags = [
      { Key: 'katapult:project', Value: 'demo' },
      { Key: 'katapult:run', Value: 'r-20261125-100000-abcd' },
      { Key: 'Name', Value: 'katapult-demo' },
    ];
    expect(ec2.commandCalls(DescribeSubnetsCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'vpc-id', Values: ['vpc-default'] },
      { Name: 'default-for-az', Values: ['true'] },
    ]);
    expect(ec2.commandCalls(CreateSecurityGroupCommand)[0]!.args[0].input).toEqual({
      GroupName: 'katapult-demo',
      Description: 'Katapult agents of demo: no inbound traffic, agents connect out',
      VpcId: 'vpc-default',
      TagSpecifications: [{ ResourceType: 'security-group', Tags: tags }],
    });
    expect(iam.commandCalls(CreateRoleCommand)[0]!.args[0].input).toEqual({
      RoleName: 'katapult-demo',
      Path: '/katapult/',
      AssumeRolePolicyDocument: EC2_TRUST_POLICY,
      Description: 'Katapult agents of demo: pull images from ECR',
      Tags: tags.slice(0, 2),
    });
    expect(JSON.parse(EC2_TRUST_POLICY).Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ]);
    const policy = iam.commandCalls(PutRolePolicyCommand)[0]!.args[0].input;
    expect(policy).toEqual({ RoleName: 'katapult-demo', PolicyName: 'katapult-ecr-pull', PolicyDocument: ecrPullPolicy('eu-west-3') });
    expect(JSON.parse(policy.PolicyDocument!).Statement.flatMap((statement: { Action: string | string[] }) => statement.Action)).toEqual([
      'ecr:GetAuthorizationToken',
      'ecr:BatchGetImage',
      'ecr:GetDownloadUrlForLayer',
      'ecr:BatchCheckLayerAvailability',
    ]);
    expect(iam.commandCalls(CreateInstanceProfileCommand)[0]!.args[0].input).toEqual({
      InstanceProfileName: 'katapult-demo',
      Path: '/katapult/',
      Tags: tags.slice(0, 2),
    });
    expect(iam.commandCalls(AddRoleToInstanceProfileCommand)[0]!.args[0].input).toEqual({
      InstanceProfileName: 'katapult-demo',
      RoleName: 'katapult-demo',
    });
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'tag:katapult:cluster', Values: ['c1'] },
      { Name: 'tag:katapult:project', Values: ['demo'] },
      { Name: 'instance-state-name', Values: ['pending', 'running'] },
    ]);
    expect(ec2.commandCalls(DescribeImagesCommand)[0]!.args[0].input).toEqual({
      Owners: ['136693071363'],
      Filters: [
        { Name: 'name', Values: ['debian-12-amd64-*'] },
        { Name: 'architecture', Values: ['x86_64'] },
        { Name: 'state', Values: ['available'] },
        { Name: 'root-device-type', Values: ['ebs'] },
      ],
    });
    // The exact input: the pure builder's, from the resources found above and the newest Debian AMI.
    const userData = renderUserData({
      agentImage: AGENT_IMAGE,
      natsUrl: 'nats://203.0.113.5:4222',
      natsUser: 'katapult-agent',
      natsPassword: 'pw',
      cluster: 'c1',
      pool: poolIdOf(context.project, 'aws', specs[0]!),
      cpus: 2,
      memoryBytes: null,
      stackLabel: 's1',
      heartbeatMs: 2000,
      lifetimeSeconds: null,
    });
    expect(runInputs()).toEqual([
      runInstancesInput({
        spec: specs[0]!,
        pool: poolIdOf(context.project, 'aws', specs[0]!),
        count: 2,
        market: 'on-demand',
        owner: context,
        cluster: 'c1',
        image: { imageId: 'ami-new', rootDeviceName: '/dev/xvda' },
        subnetId: 'subnet-a',
        securityGroupId: 'sg-1',
        instanceProfileName: 'katapult-demo',
        keyName: null,
        userData,
        clientToken: 'token-1',
        now: new Date(NOW),
      }),
    ]);
    expect(runInputs()[0]).toMatchObject({
      ImageId: 'ami-new',
      InstanceType: 't3.large',
      MinCount: 1,
      MaxCount: 2,
      SubnetId: 'subnet-a',
      SecurityGroupIds: ['sg-1'],
    });
    expect(runInputs()[0]).not.toHaveProperty('InstanceMarketOptions');
    expect(logs).toEqual(['aws: instances[0]: launched on-demand t3.large i-00001, i-00002']);
  });

  it('spot (eco: true): one RunInstances with the market options; instances already running are counted, not relaunched', async () => {
    freshAccount();
    const specs = instancesOf('instances: [{type: t3.large, number: 3, eco: true, max_bid: 0.04, eco_life: 90m}]');
    const pool = poolIdOf(context.project, 'aws', specs[0]!);
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-0live',
              Tags: [
                { Key: 'katapult:group', Value: '0' },
                { Key: 'katapult:pool', Value: pool },
              ],
            },
            {
              InstanceId: 'i-0other',
              Tags: [
                { Key: 'katapult:group', Value: '0' },
                { Key: 'katapult:pool', Value: 'demo/ffffffff' },
              ],
            },
          ],
        },
      ],
    });
    const ids = await provider().ensure(specs, context);
    expect(ids).toEqual(['i-0live', 'i-00001', 'i-00002']);
    expect(runInputs()).toHaveLength(1);
    const input = runInputs()[0]!;
    expect(input).toMatchObject({
      MaxCount: 2,
      InstanceMarketOptions: {
        MarketType: 'spot',
        SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate', MaxPrice: '0.04' },
      },
    });
    expect(input.TagSpecifications!.map((spec) => spec.ResourceType)).toEqual(['instance', 'volume', 'spot-instances-request']);
    expect(input.TagSpecifications![0]!.Tags).toContainEqual({ Key: 'katapult:expires', Value: '2026-11-25T11:30:00.000Z' });
    expect(Buffer.from(input.UserData!, 'base64').toString()).toContain("shutdown -h +90 'katapult: eco_life reached'");
  });

  it('spot without capacity in any zone falls back to on-demand (eco_fallback, the default), with a new client token', async () => {
    freshAccount();
    ec2
      .on(RunInstancesCommand, { InstanceMarketOptions: { MarketType: 'spot' } })
      .rejects(ec2Error('InsufficientInstanceCapacity', 'There is no Spot capacity available'));
    const ids = await provider().ensure(instancesOf('instances: [{type: t3.large, number: 1, eco: true}]'), context);
    expect(ids).toEqual(['i-00001']);
    // Spot in each zone's subnet, then on-demand in the first.
    expect(
      runInputs().map((input) => [
        input.InstanceMarketOptions?.MarketType ?? 'on-demand',
        input.ClientToken,
        input.NetworkInterfaces?.[0]?.SubnetId ?? input.SubnetId,
      ]),
    ).toEqual([
      ['spot', 'token-1', 'subnet-a'],
      ['spot', 'token-2', 'subnet-b'],
      ['on-demand', 'token-3', 'subnet-a'],
    ]);
    expect(runInputs()[2]!.TagSpecifications!.map((spec) => spec.ResourceType)).toEqual(['instance', 'volume']);
    expect(runInputs()[2]!.TagSpecifications![0]!.Tags).toContainEqual({ Key: 'katapult:market', Value: 'on-demand' });
    expect(logs).toEqual([
      'aws: instances[0]: no spot t3.large in eu-west-3a (InsufficientInstanceCapacity); trying eu-west-3b',
      'aws: instances[0]: no spot t3.large (InsufficientInstanceCapacity); trying on-demand t3.large (eco_fallback)',
      'aws: instances[0]: launched on-demand t3.large i-00001',
    ]);
  });

  it('a zone without capacity passes to the next zone of the region before any other type; status says which zone', async () => {
    freshAccount();
    let next = 0;
    ec2
      .on(RunInstancesCommand)
      .callsFake((input: { MaxCount: number; NetworkInterfaces?: Array<{ SubnetId?: string }>; SubnetId?: string }) => {
        const subnet = input.NetworkInterfaces?.[0]?.SubnetId ?? input.SubnetId;
        if (subnet === 'subnet-a') throw ec2Error('InsufficientInstanceCapacity', 'no capacity in eu-west-3a');
        return {
          Instances: Array.from({ length: input.MaxCount }, () => ({
            InstanceId: `i-0${(++next).toString(16).padStart(4, '0')}`,
            Placement: { AvailabilityZone: 'eu-west-3b' },
          })),
        };
      });
    const specs = instancesOf('instances: [{type: [t3.large, c5.large], number: 1}]');
    const zoned = provider();
    await expect(zoned.ensure(specs, context)).resolves.toEqual(['i-00001']);
    expect(runInputs().map((input) => `${input.InstanceType} ${input.NetworkInterfaces?.[0]?.SubnetId ?? input.SubnetId}`)).toEqual([
      't3.large subnet-a',
      't3.large subnet-b',
    ]);
    expect(zoned.launchNote(poolIdOf('demo', 'aws', specs[0]!))).toBe(
      'launched on-demand t3.large in eu-west-3b (refused: on-demand t3.large in eu-west-3a: InsufficientInstanceCapacity)',
    );
    // The next launch goes to eu-west-3b first, and still says what eu-west-3a refused a moment ago.
    ec2.resetHistory();
    await zoned.ensure(instancesOf('instances: [{type: [t3.large, c5.large], number: 2}]'), context);
    expect(runInputs().map((input) => `${input.InstanceType} ${input.NetworkInterfaces?.[0]?.SubnetId ?? input.SubnetId}`)).toEqual([
      't3.large subnet-b',
    ]);
    expect(zoned.launchNote(poolIdOf('demo', 'aws', specs[0]!))).toBe(
      'launched on-demand t3.large in eu-west-3b (refused: on-demand t3.large in eu-west-3a: InsufficientInstanceCapacity)',
    );
  });

  it("terminates the cluster's instances of no stored run's pool once past the grace period, and only those", async () => {
    const minutesAgo = (minutes: number) => new Date(NOW - minutes * 60_000);
    const tagged = (pool: string | undefined) => [
      { Key: 'katapult:cluster', Value: 'c1' },
      ...(pool ? [{ Key: 'katapult:pool', Value: pool }] : []),
    ];
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            { InstanceId: 'i-0known', LaunchTime: minutesAgo(60), Tags: tagged('demo/aaaa1111') },
            { InstanceId: 'i-0orphan', LaunchTime: minutesAgo(30), Tags: tagged('demo/dead0000') },
            { InstanceId: 'i-0young', LaunchTime: minutesAgo(2), Tags: tagged('demo/dead0000') },
            { InstanceId: 'i-0nopool', LaunchTime: minutesAgo(60), Tags: tagged(undefined) },
          ],
        },
      ],
    });
    ec2.on(TerminateInstancesCommand).resolves({});
    await expect(provider().terminateOrphans(new Set(['demo/aaaa1111']))).resolves.toEqual(['i-0orphan']);
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters).toContainEqual({
      Name: 'tag:katapult:cluster',
      Values: ['c1'],
    });
    expect(ec2.commandCalls(TerminateInstancesCommand).map((call) => call.args[0].input.InstanceIds)).toEqual([['i-0orphan']]);
    expect(logs).toEqual(['aws: orphans: terminated i-0orphan of pool demo/dead0000, which no stored run has (up 30 min)']);
    ec2.resetHistory();
    await expect(provider().terminateOrphans(new Set(['demo/aaaa1111', 'demo/dead0000']))).resolves.toEqual([]);
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });

  it('a type list is tried in order: a type without capacity or not offered passes to the next; all refused is one line', async () => {
    freshAccount();
    ec2
      .on(RunInstancesCommand, { InstanceType: 'c5.large' })
      .rejects(ec2Error('InsufficientInstanceCapacity', 'We currently do not have sufficient c5.large capacity'));
    ec2
      .on(RunInstancesCommand, { InstanceType: 'c6i.large' })
      .rejects(ec2Error('Unsupported', 'The requested configuration is currently not supported'));
    const specs = instancesOf('instances: [{type: [c5.large, c6i.large, m5.large], number: 2}]');
    expect(specs[0]).toMatchObject({ type: 'c5.large', fallbackTypes: ['c6i.large', 'm5.large'] });
    await expect(provider().ensure(specs, context)).resolves.toEqual(['i-00001', 'i-00002']);
    // Each type in each of the region's two zones.
    expect(runInputs().map((input) => input.InstanceType)).toEqual(['c5.large', 'c5.large', 'c6i.large', 'c6i.large', 'm5.large']);
    expect(logs).toEqual([
      'aws: instances[0]: no on-demand c5.large in eu-west-3a (InsufficientInstanceCapacity); trying eu-west-3b',
      'aws: instances[0]: no on-demand c5.large (InsufficientInstanceCapacity); trying on-demand c6i.large',
      'aws: instances[0]: no on-demand c6i.large in eu-west-3a (Unsupported); trying eu-west-3b',
      'aws: instances[0]: no on-demand c6i.large (Unsupported); trying on-demand m5.large',
      'aws: instances[0]: launched on-demand m5.large i-00001, i-00002',
    ]);

    // The next launch of the pool does not ask again for what was refused a moment ago.
    ec2.resetHistory();
    logs.length = 0;
    const same = provider();
    await same.ensure(instancesOf('instances: [{type: [c5.large, c6i.large, m5.large], number: 1}]'), context);
    await same.ensure(instancesOf('instances: [{type: [c5.large, c6i.large, m5.large], number: 2}]'), context);
    expect(runInputs().map((input) => input.InstanceType)).toEqual([
      'c5.large',
      'c5.large',
      'c6i.large',
      'c6i.large',
      'm5.large',
      'm5.large',
    ]);
    expect(same.launchNote(poolIdOf('demo', 'aws', instancesOf('instances: [{type: [c5.large, c6i.large, m5.large]}]')[0]!))).toBe(
      'launched on-demand m5.large (refused: on-demand c5.large: InsufficientInstanceCapacity; on-demand c6i.large: Unsupported)',
    );

    // eco: spot of every type first, then on-demand of every type; all refused: one line naming each choice.
    ec2.resetHistory();
    ec2.on(RunInstancesCommand).rejects(ec2Error('InsufficientInstanceCapacity', 'no capacity'));
    const error = await provider()
      .ensure(instancesOf('instances: [{type: [c5.large, m5.large], eco: true}]'), context)
      .catch((caught: KatapultError) => caught);
    expect(runInputs().map((input) => `${input.InstanceMarketOptions?.MarketType ?? 'on-demand'} ${input.InstanceType}`)).toEqual([
      'spot c5.large',
      'spot c5.large',
      'spot m5.large',
      'spot m5.large',
      'on-demand c5.large',
      'on-demand c5.large',
      'on-demand m5.large',
      'on-demand m5.large',
    ]);
    expect((error as KatapultError).toLine()).toBe(
      'KP_AWS_NO_CAPACITY instances[0]: AWS refused every choice in eu-west-3: spot c5.large: InsufficientInstanceCapacity; spot m5.large: InsufficientInstanceCapacity; ' +
        'on-demand c5.large: InsufficientInstanceCapacity; on-demand m5.large: InsufficientInstanceCapacity (add types to instances[].type (a list is tried in order), raise max_bid, or try later)',
    );

    // Any other error stops at once.
    ec2.resetHistory();
    ec2.on(RunInstancesCommand).rejects(ec2Error('UnauthorizedOperation', 'not allowed'));
    await expect(provider().ensure(instancesOf('instances: [{type: [c5.large, m5.large]}]'), context)).rejects.toMatchObject({
      code: 'KP_AWS_UNAUTHORIZED',
    });
    expect(runInputs()).toHaveLength(1);
  });

  it('a region list: every choice refused in one region passes to the next; all refused everywhere is one line', async () => {
    freshAccount();
    const regionsAsked: string[] = [];
    let next = 0;
    // Paris has no capacity for either type; Ireland has t3.large.
    ec2.on(RunInstancesCommand).callsFake(async (input: { MaxCount: number; InstanceType: string }, getClient: () => EC2Client) => {
      const region = await getClient().config.region();
      regionsAsked.push(`${region} ${input.InstanceType}`);
      if (region === 'eu-west-3' || input.InstanceType === 'c5.large') throw ec2Error('InsufficientInstanceCapacity', 'no capacity');
      return {
        Instances: Array.from({ length: input.MaxCount }, () => ({
          InstanceId: `i-0${(++next).toString(16).padStart(4, '0')}`,
          Placement: { AvailabilityZone: `${region}a` },
        })),
      };
    });
    const regional = (region: string | null) => ({
      ec2: new EC2Client({ region: region ?? 'us-east-1', credentials }),
      iam: new IAMClient({ region: region ?? 'us-east-1', credentials }),
    });
    const specs = instancesOf('instances: [{type: [c5.large, t3.large], number: 2, region: [eu-west-3, eu-west-1]}]');
    expect(specs[0]).toMatchObject({ region: 'eu-west-3', fallbackRegions: ['eu-west-1'] });
    const multi = new AwsProvider(regional, { ...providerOptions(), region: 'eu-west-3', fallbackRegions: ['eu-west-1'] });
    await expect(multi.ensure(specs, context)).resolves.toEqual(['i-00001', 'i-00002']);
    // Each type in each zone of a region, then the next region.
    expect(regionsAsked).toEqual([
      'eu-west-3 c5.large',
      'eu-west-3 c5.large',
      'eu-west-3 t3.large',
      'eu-west-3 t3.large',
      'eu-west-1 c5.large',
      'eu-west-1 c5.large',
      'eu-west-1 t3.large',
    ]);
    expect(logs).toContain('aws: instances[0]: AWS refused every choice in eu-west-3; trying eu-west-1');
    expect(logs).toContain('aws: instances[0]: launched on-demand t3.large i-00001, i-00002 in eu-west-1');
    const pool = poolIdOf('demo', 'aws', specs[0]!);
    expect(multi.launchNote(pool)).toBe(
      'launched on-demand t3.large in eu-west-1a (refused: eu-west-3 on-demand c5.large: InsufficientInstanceCapacity; ' +
        'eu-west-3 on-demand t3.large: InsufficientInstanceCapacity; eu-west-1 on-demand c5.large: InsufficientInstanceCapacity)',
    );
    // Both regions are counted: the pool is full, nothing more is launched.
    ec2.on(DescribeInstancesCommand).callsFake(async (_input: unknown, getClient: () => EC2Client) =>
      (await getClient().config.region()) === 'eu-west-1'
        ? {
            Reservations: [
              { Instances: ['i-00001', 'i-00002'].map((id) => ({ InstanceId: id, Tags: [{ Key: 'katapult:pool', Value: pool }] })) },
            ],
          }
        : { Reservations: [] },
    );
    regionsAsked.length = 0;
    await expect(multi.ensure(specs, context)).resolves.toEqual(['i-00001', 'i-00002']);
    expect(regionsAsked).toEqual([]);

    // A single type refused in every region: one line naming each region's refusal.
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    const single = instancesOf('instances: [{type: c5.large, region: [eu-west-3, eu-west-1]}]');
    const error = await new AwsProvider(regional, { ...providerOptions(), region: 'eu-west-3', fallbackRegions: ['eu-west-1'] })
      .ensure(single, context)
      .catch((caught: KatapultError) => caught);
    expect((error as KatapultError).toLine()).toBe(
      'KP_AWS_NO_CAPACITY instances[0]: AWS refused every choice in every region (eu-west-3, eu-west-1): eu-west-3 on-demand c5.large: InsufficientInstanceCapacity; ' +
        'eu-west-1 on-demand c5.large: InsufficientInstanceCapacity (add types to instances[].type or regions to instances[].region (lists are tried in order), raise max_bid, or try later)',
    );
  });

  it("max_hourly_cost: only as many instances as fit under the cap are launched, counting the project's running ones; a price not had launches none", async () => {
    freshAccount();
    const prices = {
      price: async (type: string, market: string) =>
        type === 't3.large' && market === 'on-demand' ? 0.1 : Promise.reject(new Error(`no ${market} price for ${type}`)),
    };
    const specs = instancesOf('instances: [{type: t3.large, number: 3}]');
    const pool = poolIdOf('demo', 'aws', specs[0]!);
    const capped = provider({ prices: () => prices });
    await expect(capped.ensure(specs, { ...context, maxHourlyCost: 0.25 })).resolves.toEqual(['i-00001', 'i-00002']);
    expect(runInputs().map((input) => input.MaxCount)).toEqual([2]);
    const line =
      "max_hourly_cost $0.25/h reached: the project's instances cost $0.20/h, another at $0.10/h would make $0.30/h; 1 not launched";
    expect(capped.launchNote(pool)).toBe(line);
    expect(logs).toContain(`aws: instances[0]: ${line}`);

    // Another pool of the project: the two running count, so nothing more fits.
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: ['i-00001', 'i-00002'].map((id) => ({
            InstanceId: id,
            InstanceType: 't3.large',
            Tags: [{ Key: 'katapult:pool', Value: pool }],
          })),
        },
      ],
    });
    ec2.resetHistory();
    const other = instancesOf('instances: [{type: t3.large, number: 1, disk_size: 30}]');
    await expect(provider({ prices: () => prices }).ensure(other, { ...context, maxHourlyCost: 0.25 })).resolves.toEqual([]);
    expect(runInputs()).toEqual([]);

    // What the project's instances cost in other region lists counts too.
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    await expect(
      provider({ prices: () => prices }).ensure(other, { ...context, maxHourlyCost: 0.25, elsewherePerHour: 0.2 }),
    ).resolves.toEqual([]);
    expect(runInputs()).toEqual([]);

    // A price that cannot be had: under a cap nothing is launched, and the note says why.
    const unpriced = instancesOf('instances: [{type: c5.large}]');
    const blind = provider({ prices: () => prices });
    await expect(blind.ensure(unpriced, { ...context, maxHourlyCost: 1 })).resolves.toEqual([]);
    expect(blind.launchNote(poolIdOf('demo', 'aws', unpriced[0]!))).toBe(
      'max_hourly_cost $1.00/h cannot be checked (no on-demand price for c5.large); no instance launched',
    );
    expect(runInputs()).toEqual([]);
  });

  it('a max_bid below the spot price falls back too; with eco_fallback: false it is the one-line error', async () => {
    freshAccount();
    ec2
      .on(RunInstancesCommand, { InstanceMarketOptions: { MarketType: 'spot' } })
      .rejects(
        ec2Error(
          'SpotMaxPriceTooLow',
          'Your Spot request price of 0.001 is lower than the minimum required Spot request fulfillment price of 0.0213.',
        ),
      );
    await expect(provider().ensure(instancesOf('instances: [{type: t3.large, eco: true, max_bid: 0.001}]'), context)).resolves.toEqual([
      'i-00001',
    ]);

    ec2.resetHistory();
    const error = await provider()
      .ensure(instancesOf('instances: [{type: t3.large, eco: true, max_bid: 0.001, eco_fallback: false}]'), context)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KatapultError);
    expect((error as KatapultError).toLine()).toBe(
      'KP_AWS_SPOT_PRICE EC2 RunInstances: max_bid 0.001 $/h is below the current spot price of t3.large in eu-west-3 (SpotMaxPriceTooLow) (raise instances[].max_bid, or remove it to pay the current spot price)',
    );
    expect(runInputs()).toHaveLength(1);
  });

  it('retries RunInstances while a new instance profile is spreading through IAM', async () => {
    freshAccount();
    ec2
      .on(RunInstancesCommand)
      .rejectsOnce(
        ec2Error(
          'InvalidParameterValue',
          'Value (katapult-demo) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name',
        ),
      )
      .rejectsOnce(
        ec2Error(
          'InvalidParameterValue',
          'Value (katapult-demo) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name',
        ),
      )
      .resolves({ Instances: [{ InstanceId: 'i-0late' }] });
    await expect(provider().ensure(instancesOf('instances: [{type: t3.large}]'), context)).resolves.toEqual(['i-0late']);
    expect(slept).toEqual([2000, 4000]);
    expect(runInputs().map((input) => input.ClientToken)).toEqual(['token-1', 'token-2', 'token-3']);
  });

  it('reuses what exists: resources are looked up once, and instances just launched count until EC2 lists them', async () => {
    freshAccount();
    const aws = provider();
    const specs = instancesOf('instances: [{type: t3.large, number: 2}]');
    await aws.ensure(specs, context);
    ec2.resetHistory();
    iam.resetHistory();
    // EC2 is eventually consistent: DescribeInstances does not list the new instances yet.
    expect(await aws.ensure(specs, context)).toEqual(['i-00001', 'i-00002']);
    expect(callOrder({ ec2, iam })).toEqual(['ec2.DescribeInstances']);
  });

  it('an existing role, profile and security group are used as they are', async () => {
    freshAccount();
    const owned = [{ Key: 'katapult:project', Value: 'demo' }];
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: 'sg-old' }] });
    iam.on(GetRoleCommand).resolves({ Role: { RoleName: 'katapult-demo', Tags: owned } as never });
    iam.on(GetInstanceProfileCommand).resolves({
      InstanceProfile: { InstanceProfileName: 'katapult-demo', Roles: [{ RoleName: 'katapult-demo' }], Tags: owned } as never,
    });
    await provider().ensure(instancesOf('instances: [{type: t3.large}]'), context);
    expect(callOrder({ ec2, iam }).filter((call) => /Create|Add/.test(call))).toEqual([]);
    expect(runInputs()[0]!.SecurityGroupIds).toEqual(['sg-old']);
  });

  it("refuses to take over a role of the same name that is not the project's", async () => {
    freshAccount();
    iam.on(GetRoleCommand).resolves({ Role: { RoleName: 'katapult-demo', Tags: [] } as never });
    await expect(provider().ensure(instancesOf('instances: [{type: t3.large}]'), context)).rejects.toMatchObject({
      code: 'KP_AWS_NAME_TAKEN',
    });
    expect(runInputs()).toHaveLength(0);
  });

  it('with no default VPC, makes the project a tagged VPC, internet gateway, route and public subnet', async () => {
    freshAccount();
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [] });
    ec2.on(CreateVpcCommand).resolves({ Vpc: { VpcId: 'vpc-kp' } });
    ec2.on(DescribeInternetGatewaysCommand).resolves({ InternetGateways: [] });
    ec2.on(CreateInternetGatewayCommand).resolves({ InternetGateway: { InternetGatewayId: 'igw-kp' } });
    ec2
      .on(DescribeRouteTablesCommand)
      .resolves({ RouteTables: [{ RouteTableId: 'rtb-main', Routes: [{ DestinationCidrBlock: '10.87.0.0/16' }] }] });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
    ec2.on(CreateSubnetCommand).resolves({ Subnet: { SubnetId: 'subnet-kp' } });
    await provider().ensure(instancesOf('instances: [{type: t3.large}]'), context);
    expect(callOrder({ ec2 }).slice(0, 10)).toEqual([
      'ec2.DescribeVpcs',
      'ec2.DescribeVpcs',
      'ec2.CreateVpc',
      'ec2.DescribeInternetGateways',
      'ec2.CreateInternetGateway',
      'ec2.AttachInternetGateway',
      'ec2.DescribeRouteTables',
      'ec2.CreateRoute',
      'ec2.DescribeSubnets',
      'ec2.CreateSubnet',
    ]);
    const tags = [
      { Key: 'katapult:project', Value: 'demo' },
      { Key: 'katapult:run', Value: 'r-20261125-100000-abcd' },
      { Key: 'Name', Value: 'katapult-demo' },
    ];
    expect(ec2.commandCalls(CreateVpcCommand)[0]!.args[0].input).toEqual({
      CidrBlock: '10.87.0.0/16',
      TagSpecifications: [{ ResourceType: 'vpc', Tags: tags }],
    });
    expect(ec2.commandCalls(CreateInternetGatewayCommand)[0]!.args[0].input).toEqual({
      TagSpecifications: [{ ResourceType: 'internet-gateway', Tags: tags }],
    });
    expect(ec2.commandCalls(AttachInternetGatewayCommand)[0]!.args[0].input).toEqual({ InternetGatewayId: 'igw-kp', VpcId: 'vpc-kp' });
    expect(ec2.commandCalls(CreateRouteCommand)[0]!.args[0].input).toEqual({
      RouteTableId: 'rtb-main',
      DestinationCidrBlock: '0.0.0.0/0',
      GatewayId: 'igw-kp',
    });
    expect(ec2.commandCalls(CreateSubnetCommand)[0]!.args[0].input).toEqual({
      VpcId: 'vpc-kp',
      CidrBlock: '10.87.0.0/20',
      TagSpecifications: [{ ResourceType: 'subnet', Tags: tags }],
    });
    expect(ec2.commandCalls(ModifySubnetAttributeCommand)[0]!.args[0].input).toEqual({
      SubnetId: 'subnet-kp',
      MapPublicIpOnLaunch: { Value: true },
    });
    expect(runInputs()[0]!.SubnetId).toBe('subnet-kp');
  });

  it('uses img_id as given, with its root device for the disk', async () => {
    freshAccount();
    ec2.on(DescribeImagesCommand, { ImageIds: ['ami-mine'] }).resolves({ Images: [{ ImageId: 'ami-mine', RootDeviceName: '/dev/sda1' }] });
    await provider().ensure(instancesOf('instances: [{type: t3.large, img_id: ami-mine, disk_size: 50}]'), context);
    // The type is still described, for its vCPUs, but no Debian AMI is looked up.
    expect(callOrder({ ec2 }).filter((call) => /Describe(Images|InstanceTypes)/.test(call))).toEqual([
      'ec2.DescribeInstanceTypes',
      'ec2.DescribeImages',
    ]);
    expect(runInputs()[0]).toMatchObject({
      ImageId: 'ami-mine',
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { DeleteOnTermination: true, VolumeSize: 50 } }],
    });
  });

  it('a gpu instance boots with the NVIDIA container toolkit, the others without', async () => {
    freshAccount();
    await provider().ensure(instancesOf('instances: [{type: g4dn.xlarge, gpu: nvidia-t4}, {type: t3.large}]'), context);
    const scripts = runInputs().map((input) => Buffer.from(input.UserData!, 'base64').toString());
    expect(scripts).toHaveLength(2);
    expect(scripts[0]).toContain('nvidia-ctk runtime configure --runtime=docker\nsystemctl restart docker\n');
    expect(scripts[1]).not.toContain('nvidia');
  });

  it('picks the arm64 Debian AMI for a Graviton type', async () => {
    freshAccount();
    ec2.on(DescribeInstanceTypesCommand).resolves({ InstanceTypes: [{ ProcessorInfo: { SupportedArchitectures: ['arm64'] } }] });
    await provider().ensure(instancesOf('instances: [{type: c7g.large}]'), context);
    expect(ec2.commandCalls(DescribeImagesCommand)[0]!.args[0].input.Filters!.slice(0, 2)).toEqual([
      { Name: 'name', Values: ['debian-12-arm64-*'] },
      { Name: 'architecture', Values: ['arm64'] },
    ]);
  });

  it("instances in another region than the provider's are a config error, before any call", async () => {
    freshAccount();
    await expect(provider().ensure(instancesOf('instances: [{region: us-east-1}]'), context)).rejects.toMatchObject({
      code: 'KP_AWS_REGION',
      exitCode: 2,
    });
    expect(callOrder({ ec2, iam })).toEqual([]);
  });

  it("terminateAll terminates the cluster's instances and returns their ids", async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-01' }, { InstanceId: 'i-02' }] }] });
    ec2.on(TerminateInstancesCommand).resolves({});
    expect(await provider().terminateAll()).toEqual(['i-01', 'i-02']);
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'tag:katapult:cluster', Values: ['c1'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: ['i-01', 'i-02'] });
  });

  it("stopPool terminates only that pool's instances and returns their agents", async () => {
    const [spec] = instancesOf('instances: [{type: t3.large}]');
    const pool = { id: poolIdOf('demo', 'aws', spec!), spec: spec!, groups: [0] };
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-01', Tags: [{ Key: 'katapult:agent', Value: 'aws-0-01' }] }] }] });
    ec2.on(TerminateInstancesCommand).resolves({});
    expect(await provider().stopPool(pool)).toEqual(['aws-0-01']);
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'tag:katapult:cluster', Values: ['c1'] },
      { Name: 'tag:katapult:pool', Values: [pool.id] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: ['i-01'] });
  });

  it('fence terminates the instance of an agent taken for lost, found by its agent tag or its instance id', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-07', Tags: [{ Key: 'katapult:agent', Value: 'aws-0-07' }] }] }] });
    ec2.on(TerminateInstancesCommand).resolves({});
    await provider().fence('aws-0-07');
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters).toContainEqual({
      Name: 'tag:katapult:agent',
      Values: ['aws-0-07'],
    });
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: ['i-07'] });
    await provider().fence('i-07');
    expect(ec2.commandCalls(DescribeInstancesCommand)[1]!.args[0].input.Filters).toContainEqual({ Name: 'instance-id', Values: ['i-07'] });
  });

  it('with a credential issuer, each instance is launched alone with its own agent id and NATS user, revoked when it fails or ends', async () => {
    freshAccount();
    const issued: string[] = [];
    const revoked: string[] = [];
    const issuer = {
      issue: (agentId: string) => (issued.push(agentId), { user: `agent-${agentId}`, pass: `pass-${issued.length}` }),
      revoke: (agentId: string) => void revoked.push(agentId),
    };
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const aws = provider({
      credentials: issuer,
      agent: { image: AGENT_IMAGE, natsUrl: 'tls://203.0.113.5:4222', natsCa: ca, stackLabel: 's1' },
    });
    expect(await aws.ensure(instancesOf('instances: [{type: t3.large, number: 2}]'), context)).toEqual(['i-00001', 'i-00002']);
    expect(issued).toHaveLength(2);
    expect(issued.every((id) => /^aws-0-[0-9a-f]{8}$/.test(id))).toBe(true);
    expect(runInputs().map((input) => [input.MinCount, input.MaxCount])).toEqual([
      [1, 1],
      [1, 1],
    ]);
    runInputs().forEach((input, i) => {
      const script = Buffer.from(input.UserData!, 'base64').toString('utf8');
      expect(script).toContain(`KATAPULT_AGENT_ID=${issued[i]}\n`);
      expect(script).toContain(`KATAPULT_NATS_USER=agent-${issued[i]}\nKATAPULT_NATS_PASSWORD=pass-${i + 1}\n`);
      expect(script).toContain(`KATAPULT_NATS_CA_BASE64=${Buffer.from(ca).toString('base64')}\n`);
      expect(input.TagSpecifications![0]!.Tags).toContainEqual({ Key: 'katapult:agent', Value: issued[i] });
    });

    ec2.on(RunInstancesCommand).rejects(ec2Error('InsufficientInstanceCapacity', 'We currently do not have sufficient t3.large capacity'));
    await expect(aws.ensure(instancesOf('instances: [{type: t3.large, number: 3}]'), context)).rejects.toMatchObject({ exitCode: 3 });
    expect(revoked).toEqual([issued[2]]);

    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-00001', Tags: [{ Key: 'katapult:agent', Value: issued[0] }] }] }] });
    ec2.on(TerminateInstancesCommand).resolves({});
    await aws.terminateAll();
    expect(revoked).toEqual([issued[2], issued[0]]);
  });

  it("cpus: the type's vCPUs when not given; more than the type has is made of several instances (explode), or refused", async () => {
    const cpusOf = (input: { UserData?: string }) =>
      /KATAPULT_CPUS=(\d+)/.exec(Buffer.from(input.UserData!, 'base64').toString('utf8'))?.[1];
    freshAccount();
    await provider().ensure(instancesOf('instances: [{type: t3.large}]'), context);
    expect(runInputs().map((input) => [input.MaxCount, cpusOf(input)])).toEqual([[1, '2']]);

    freshAccount();
    ec2.resetHistory();
    const exploded = instancesOf('instances: [{type: t3.large, cpus: 5, number: 2}]');
    expect(await provider().ensure(exploded, context)).toHaveLength(6);
    expect(runInputs().map((input) => [input.MaxCount, cpusOf(input)])).toEqual([[6, '2']]);

    // Listed by EC2 with the entry's tags, the six count: nothing more is launched.
    const tags = runInputs()[0]!.TagSpecifications![0]!.Tags!;
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: Array.from({ length: 6 }, (_, i) => ({ InstanceId: `i-0${i}`, Tags: tags })) }] });
    ec2.resetHistory();
    expect(await provider().ensure(exploded, context)).toHaveLength(6);
    expect(runInputs()).toHaveLength(0);

    freshAccount();
    await expect(provider().ensure(instancesOf('instances: [{type: t3.large, cpus: 4, explode: false}]'), context)).rejects.toMatchObject({
      code: 'KP_AWS_CPUS',
      exitCode: 2,
      message: 'instances[0].cpus is 4 but a t3.large has 2 vCPUs',
    });
  });

  it('two overlapping ensure calls launch the instances once', async () => {
    freshAccount();
    const aws = provider();
    const specs = instancesOf('instances: [{type: t3.large, number: 2}]');
    const [first, second] = await Promise.all([aws.ensure(specs, context), aws.ensure(specs, context)]);
    expect(first).toEqual(['i-00001', 'i-00002']);
    expect(second).toEqual(['i-00001', 'i-00002']);
    expect(runInputs()).toHaveLength(1);
  });
});
