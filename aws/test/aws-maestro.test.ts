import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  TerminateInstancesCommand,
  type Filter,
  type Instance,
} from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KatapultError } from '@katapult/core';
import { AwsProvider } from '../src/aws-provider.js';
import { EC2_TRUST_POLICY, ecrPullPolicy, ensureInstanceProfile } from '../src/resources/instance-role.js';
import { launchMaestro, maestroRunInstancesInput, type MaestroLaunchOptions } from '../src/maestro.js';
import { maestroPolicy, maestroResourceName } from '../src/maestro-resources.js';
import { resourceName } from '../src/tags.js';
import { callOrder, ec2Error, instancesOf } from './aws-helpers.js';

/** AWS cannot be reached from here: EC2 and IAM are aws-sdk-client-mock stubs, and every call is checked. */
const ec2 = mockClient(EC2Client);
const iam = mockClient(IAMClient);
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const clients = () => ({
  ec2: new EC2Client({ region: 'eu-west-3', credentials }),
  iam: new IAMClient({ region: 'eu-west-3', credentials }),
});
const owner = { project: 'demo', runId: 'r-20261125-100000-abcd' };
const owned = [{ Key: 'katapult:project', Value: 'demo' }];
const noSuchEntity = () => new NoSuchEntityException({ message: 'not found', $metadata: {} });
const USER_DATA = '#!/bin/bash\necho maestro\n';
const isMaestroFilter = (filters: Filter[] | undefined) => (filters ?? []).some((filter) => filter.Name === 'tag:katapult:role');

let slept: number[];
let logs: string[];
let clock: number;
function options(extra: Partial<MaestroLaunchOptions> = {}): MaestroLaunchOptions {
  return {
    owner,
    cluster: 'c1',
    region: 'eu-west-3',
    allowedCidr: '198.51.100.7/32',
    userData: USER_DATA,
    newToken: () => 'token-1',
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
    now: () => clock,
    log: (line) => logs.push(line),
    ...extra,
  };
}

/** The states DescribeInstances gives the launched maestro, one per look (the last one repeats). */
function maestroLooks(...looks: Instance[]) {
  let look = 0;
  return (input: { InstanceIds?: string[]; Filters?: Filter[] }) => {
    if (!input.InstanceIds) return { Reservations: [] };
    const instance = looks[Math.min(look++, looks.length - 1)]!;
    return { Reservations: [{ Instances: [{ InstanceId: 'i-0maestro', ...instance }] }] };
  };
}

/** A region with a default VPC and nothing of the project yet. */
function freshAccount() {
  ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-default', IsDefault: true }] });
  ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [{ SubnetId: 'subnet-a', AvailabilityZone: 'eu-west-3a' }] });
  ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
  ec2
    .on(CreateSecurityGroupCommand)
    .callsFake((input: { GroupName: string }) => ({ GroupId: input.GroupName.endsWith('-maestro') ? 'sg-maestro' : 'sg-agents' }));
  iam.on(GetRoleCommand).rejects(noSuchEntity());
  iam.on(GetInstanceProfileCommand).rejects(noSuchEntity());
  iam.on(CreateRoleCommand).resolves({});
  iam.on(CreateInstanceProfileCommand).resolves({});
  ec2.on(DescribeInstanceTypesCommand).resolves({
    InstanceTypes: [{ InstanceType: 't3.small', ProcessorInfo: { SupportedArchitectures: ['x86_64'] }, VCpuInfo: { DefaultVCpus: 2 } }],
  });
  ec2.on(DescribeImagesCommand).resolves({
    Images: [
      { ImageId: 'ami-old', CreationDate: '2026-01-01T00:00:00.000Z', RootDeviceName: '/dev/xvda' },
      { ImageId: 'ami-new', CreationDate: '2026-11-01T00:00:00.000Z', RootDeviceName: '/dev/xvda' },
    ],
  });
  ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0maestro' }] });
  ec2
    .on(DescribeInstancesCommand)
    .callsFake(
      maestroLooks(
        { State: { Name: 'pending' } },
        { State: { Name: 'running' }, PrivateIpAddress: '172.31.5.6', PublicIpAddress: '203.0.113.9' },
      ),
    );
}

const MAESTRO_RULES = [
  { IpProtocol: 'tcp', FromPort: 4222, ToPort: 4222, IpRanges: [{ CidrIp: '198.51.100.7/32', Description: 'katapult: NATS' }] },
  { IpProtocol: 'tcp', FromPort: 8443, ToPort: 8443, IpRanges: [{ CidrIp: '198.51.100.7/32', Description: 'katapult: API' }] },
  {
    IpProtocol: 'tcp',
    FromPort: 4222,
    ToPort: 4222,
    UserIdGroupPairs: [{ GroupId: 'sg-agents', Description: 'katapult: NATS from the agents' }],
  },
];

/** As EC2 describes the maestro's group once its rules are in place. */
const MAESTRO_GROUP = {
  GroupId: 'sg-maestro',
  GroupName: 'katapult-demo-maestro',
  Tags: [...owned, { Key: 'katapult:role', Value: 'maestro' }],
  IpPermissions: [
    {
      IpProtocol: 'tcp',
      FromPort: 4222,
      ToPort: 4222,
      IpRanges: [{ CidrIp: '198.51.100.7/32', Description: 'katapult: NATS' }],
      UserIdGroupPairs: [{ GroupId: 'sg-agents', UserId: '123456789012' }],
    },
    { IpProtocol: 'tcp', FromPort: 8443, ToPort: 8443, IpRanges: [{ CidrIp: '198.51.100.7/32' }] },
  ],
};

/** The agents' resources and the maestro's, all there, each IAM policy as IAM returns it (URL-encoded). */
function accountWithEverything() {
  freshAccount();
  ec2.on(DescribeSecurityGroupsCommand).callsFake((input: { Filters?: Filter[] }) => ({
    SecurityGroups: isMaestroFilter(input.Filters)
      ? [MAESTRO_GROUP]
      : [MAESTRO_GROUP, { GroupId: 'sg-agents', GroupName: 'katapult-demo', Tags: owned }],
  }));
  iam.on(GetRoleCommand).callsFake((input: { RoleName: string }) => ({ Role: { RoleName: input.RoleName, Tags: owned } }));
  iam.on(GetInstanceProfileCommand).callsFake((input: { InstanceProfileName: string }) => ({
    InstanceProfile: { InstanceProfileName: input.InstanceProfileName, Roles: [{ RoleName: input.InstanceProfileName }], Tags: owned },
  }));
  iam.on(GetRolePolicyCommand).callsFake((input: { RoleName: string }) => ({
    PolicyDocument: encodeURIComponent(
      input.RoleName === 'katapult-demo'
        ? ecrPullPolicy('eu-west-3')
        : maestroPolicy({ project: 'demo', cluster: 'c1', region: 'eu-west-3' }),
    ),
  }));
}

describe('launchMaestro', () => {
  beforeEach(() => {
    ec2.reset();
    iam.reset();
    slept = [];
    logs = [];
    clock = 1_000_000;
  });

  it("in a fresh account: network, the agents' group and role, the maestro's group and role, then one instance, and waits for its public address", async () => {
    freshAccount();
    const maestro = await launchMaestro(clients(), options());

    expect(maestro).toEqual({ instanceId: 'i-0maestro', publicIp: '203.0.113.9', privateIp: '172.31.5.6', reused: false });
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
      'ec2.DescribeSecurityGroups',
      'ec2.CreateSecurityGroup',
      'ec2.AuthorizeSecurityGroupIngress',
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
      'ec2.DescribeInstances',
      'ec2.DescribeInstances',
    ]);

    const groups = ec2.commandCalls(CreateSecurityGroupCommand).map((call) => call.args[0].input);
    expect(groups[0]!.GroupName).toBe('katapult-demo');
    expect(groups[1]).toEqual({
      GroupName: 'katapult-demo-maestro',
      Description: 'Katapult maestro of demo: NATS and its API',
      VpcId: 'vpc-default',
      TagSpecifications: [
        {
          ResourceType: 'security-group',
          Tags: [
            { Key: 'katapult:project', Value: 'demo' },
            { Key: 'katapult:run', Value: owner.runId },
            { Key: 'Name', Value: 'katapult-demo-maestro' },
            { Key: 'katapult:role', Value: 'maestro' },
          ],
        },
      ],
    });
    expect(ec2.commandCalls(DescribeSecurityGroupsCommand)[1]!.args[0].input).toEqual({
      Filters: [
        { Name: 'vpc-id', Values: ['vpc-default'] },
        { Name: 'tag:katapult:project', Values: ['demo'] },
        { Name: 'tag:katapult:role', Values: ['maestro'] },
      ],
    });
    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand).map((call) => call.args[0].input)).toEqual([
      { GroupId: 'sg-maestro', IpPermissions: MAESTRO_RULES },
    ]);

    const roles = iam.commandCalls(CreateRoleCommand).map((call) => call.args[0].input);
    expect(roles[0]!.RoleName).toBe('katapult-demo');
    expect(roles[1]).toEqual({
      RoleName: 'katapult-demo-maestro',
      Path: '/katapult/',
      AssumeRolePolicyDocument: EC2_TRUST_POLICY,
      Description: 'Katapult maestro of demo: launches and terminates its agents',
      Tags: [
        { Key: 'katapult:project', Value: 'demo' },
        { Key: 'katapult:run', Value: owner.runId },
        { Key: 'katapult:role', Value: 'maestro' },
      ],
    });
    expect(iam.commandCalls(PutRolePolicyCommand).map((call) => call.args[0].input)).toEqual([
      { RoleName: 'katapult-demo', PolicyName: 'katapult-ecr-pull', PolicyDocument: ecrPullPolicy('eu-west-3') },
      {
        RoleName: 'katapult-demo-maestro',
        PolicyName: 'katapult-maestro',
        PolicyDocument: maestroPolicy({ project: 'demo', cluster: 'c1', region: 'eu-west-3' }),
      },
    ]);
    expect(iam.commandCalls(CreateInstanceProfileCommand)[1]!.args[0].input).toEqual({
      InstanceProfileName: 'katapult-demo-maestro',
      Path: '/katapult/',
      Tags: [
        { Key: 'katapult:project', Value: 'demo' },
        { Key: 'katapult:run', Value: owner.runId },
        { Key: 'katapult:role', Value: 'maestro' },
      ],
    });
    expect(iam.commandCalls(AddRoleToInstanceProfileCommand)[1]!.args[0].input).toEqual({
      InstanceProfileName: 'katapult-demo-maestro',
      RoleName: 'katapult-demo-maestro',
    });

    expect(ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input).toEqual({
      Filters: [
        { Name: 'tag:katapult:project', Values: ['demo'] },
        { Name: 'tag:katapult:role', Values: ['maestro'] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopped'] },
      ],
    });
    expect(ec2.commandCalls(DescribeInstanceTypesCommand)[0]!.args[0].input).toEqual({ InstanceTypes: ['t3.small'] });
    expect(ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input).toEqual({
      ImageId: 'ami-new',
      InstanceType: 't3.small',
      MinCount: 1,
      MaxCount: 1,
      ClientToken: 'token-1',
      NetworkInterfaces: [
        { DeviceIndex: 0, SubnetId: 'subnet-a', Groups: ['sg-maestro'], AssociatePublicIpAddress: true, DeleteOnTermination: true },
      ],
      IamInstanceProfile: { Name: 'katapult-demo-maestro' },
      UserData: Buffer.from(USER_DATA).toString('base64'),
      InstanceInitiatedShutdownBehavior: 'stop',
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: true, VolumeSize: 20, VolumeType: 'gp3' } }],
      TagSpecifications: ['instance', 'volume'].map((ResourceType) => ({
        ResourceType,
        Tags: [
          { Key: 'katapult:project', Value: 'demo' },
          { Key: 'katapult:run', Value: owner.runId },
          { Key: 'Name', Value: 'katapult-demo-maestro' },
          { Key: 'katapult:role', Value: 'maestro' },
        ],
      })),
    });
    expect(ec2.commandCalls(DescribeInstancesCommand)[1]!.args[0].input).toEqual({ InstanceIds: ['i-0maestro'] });
    expect(slept).toEqual([5000]);
    expect(logs).toEqual(['aws: launched the maestro i-0maestro (t3.small)']);
  });

  it("with the agents' resources and a running maestro: creates nothing, changes nothing, launches nothing", async () => {
    accountWithEverything();
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [{ InstanceId: 'i-0old', State: { Name: 'running' }, PrivateIpAddress: '172.31.1.2', PublicIpAddress: '203.0.113.4' }],
        },
      ],
    });
    const maestro = await launchMaestro(clients(), options());
    expect(maestro).toEqual({ instanceId: 'i-0old', publicIp: '203.0.113.4', privateIp: '172.31.1.2', reused: true });
    expect(callOrder({ ec2, iam })).toEqual([
      'ec2.DescribeVpcs',
      'ec2.DescribeSubnets',
      'ec2.DescribeSecurityGroups',
      'iam.GetRole',
      'iam.GetRolePolicy',
      'iam.GetInstanceProfile',
      'ec2.DescribeSecurityGroups',
      'iam.GetRole',
      'iam.GetRolePolicy',
      'iam.GetInstanceProfile',
      'ec2.DescribeInstances',
    ]);
    expect(iam.commandCalls(GetRolePolicyCommand).map((call) => call.args[0].input)).toEqual([
      { RoleName: 'katapult-demo', PolicyName: 'katapult-ecr-pull' },
      { RoleName: 'katapult-demo-maestro', PolicyName: 'katapult-maestro' },
    ]);
    expect(logs).toEqual(['aws: maestro i-0old is there already']);
  });

  it('a pending maestro is waited for, not launched again', async () => {
    accountWithEverything();
    ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) =>
      input.InstanceIds
        ? {
            Reservations: [
              {
                Instances: [
                  { InstanceId: 'i-0old', State: { Name: 'running' }, PrivateIpAddress: '172.31.1.2', PublicIpAddress: '203.0.113.4' },
                ],
              },
            ],
          }
        : { Reservations: [{ Instances: [{ InstanceId: 'i-0old', State: { Name: 'pending' } }] }] },
    );
    expect(await launchMaestro(clients(), options())).toEqual({
      instanceId: 'i-0old',
      publicIp: '203.0.113.4',
      privateIp: '172.31.1.2',
      reused: true,
    });
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
    expect(callOrder({ ec2 }).slice(-2)).toEqual(['ec2.DescribeInstances', 'ec2.DescribeInstances']);
  });

  it("a stopped maestro is started again (its disk holds the cluster's state), and its new address returned", async () => {
    accountWithEverything();
    ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) =>
      input.InstanceIds
        ? {
            Reservations: [
              {
                Instances: [
                  { InstanceId: 'i-0old', State: { Name: 'running' }, PrivateIpAddress: '172.31.1.2', PublicIpAddress: '203.0.113.8' },
                ],
              },
            ],
          }
        : { Reservations: [{ Instances: [{ InstanceId: 'i-0old', State: { Name: 'stopped' }, PrivateIpAddress: '172.31.1.2' }] }] },
    );
    ec2.on(StartInstancesCommand).resolves({});
    expect(await launchMaestro(clients(), options())).toEqual({
      instanceId: 'i-0old',
      publicIp: '203.0.113.8',
      privateIp: '172.31.1.2',
      reused: true,
    });
    expect(ec2.commandCalls(StartInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: ['i-0old'] });
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });

  it("makes the maestro's rules exactly the wanted ones: a former address is revoked, the new one authorized", async () => {
    accountWithEverything();
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [{ InstanceId: 'i-0old', State: { Name: 'running' }, PrivateIpAddress: '172.31.1.2', PublicIpAddress: '203.0.113.4' }],
        },
      ],
    });
    await launchMaestro(clients(), options({ allowedCidr: '192.0.2.1/32' }));
    expect(ec2.commandCalls(RevokeSecurityGroupIngressCommand).map((call) => call.args[0].input)).toEqual([
      {
        GroupId: 'sg-maestro',
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 4222, ToPort: 4222, IpRanges: [{ CidrIp: '198.51.100.7/32' }] },
          { IpProtocol: 'tcp', FromPort: 8443, ToPort: 8443, IpRanges: [{ CidrIp: '198.51.100.7/32' }] },
        ],
      },
    ]);
    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand).map((call) => call.args[0].input)).toEqual([
      {
        GroupId: 'sg-maestro',
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 4222, ToPort: 4222, IpRanges: [{ CidrIp: '192.0.2.1/32', Description: 'katapult: NATS' }] },
          { IpProtocol: 'tcp', FromPort: 8443, ToPort: 8443, IpRanges: [{ CidrIp: '192.0.2.1/32', Description: 'katapult: API' }] },
        ],
      },
    ]);
    expect(callOrder({ ec2 }).indexOf('ec2.RevokeSecurityGroupIngress')).toBeLessThan(
      callOrder({ ec2 }).indexOf('ec2.AuthorizeSecurityGroupIngress'),
    );
  });

  it('other ports, an SSH range and an IPv6 range are rules of their own; a rule added by hand is removed', async () => {
    freshAccount();
    ec2.on(DescribeSecurityGroupsCommand).callsFake((input: { Filters?: Filter[] }) => ({
      SecurityGroups: isMaestroFilter(input.Filters)
        ? [{ GroupId: 'sg-maestro', IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }]
        : [{ GroupId: 'sg-agents' }],
    }));
    await launchMaestro(clients(), options({ allowedCidr: '2001:db8::/64', natsPort: 14222, httpPort: 18443, sshCidr: '198.51.100.7/32' }));
    expect(ec2.commandCalls(RevokeSecurityGroupIngressCommand)[0]!.args[0].input).toEqual({
      GroupId: 'sg-maestro',
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
    });
    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]!.args[0].input).toEqual({
      GroupId: 'sg-maestro',
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 14222, ToPort: 14222, Ipv6Ranges: [{ CidrIpv6: '2001:db8::/64', Description: 'katapult: NATS' }] },
        { IpProtocol: 'tcp', FromPort: 18443, ToPort: 18443, Ipv6Ranges: [{ CidrIpv6: '2001:db8::/64', Description: 'katapult: API' }] },
        {
          IpProtocol: 'tcp',
          FromPort: 14222,
          ToPort: 14222,
          UserIdGroupPairs: [{ GroupId: 'sg-agents', Description: 'katapult: NATS from the agents' }],
        },
        { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '198.51.100.7/32', Description: 'katapult: SSH' }] },
      ],
    });
  });

  it('refuses an allowedCidr that is not a range, before any call', async () => {
    for (const allowedCidr of ['', '198.51.100.7', '300.1.1.1/32', '198.51.100.7/33', 'any']) {
      await expect(launchMaestro(clients(), options({ allowedCidr }))).rejects.toMatchObject({ code: 'KP_AWS_MAESTRO_CIDR', exitCode: 2 });
    }
    expect(callOrder({ ec2, iam })).toEqual([]);
  });

  it('an img_id and an instance type are used as given', async () => {
    freshAccount();
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-mine', RootDeviceName: '/dev/sda1' }] });
    await launchMaestro(clients(), options({ imageId: 'ami-mine', instanceType: 't4g.small', diskSize: 50 }));
    expect(ec2.commandCalls(DescribeInstanceTypesCommand)).toHaveLength(0);
    expect(ec2.commandCalls(DescribeImagesCommand)[0]!.args[0].input).toEqual({ ImageIds: ['ami-mine'] });
    const input = ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input;
    expect([input.ImageId, input.InstanceType, input.BlockDeviceMappings]).toEqual([
      'ami-mine',
      't4g.small',
      [{ DeviceName: '/dev/sda1', Ebs: { DeleteOnTermination: true, VolumeSize: 50, VolumeType: 'gp3' } }],
    ]);
  });

  it("an image that cannot be found is an error naming maestro_img_id, not the agents' img_id", async () => {
    freshAccount();
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    const unset = await launchMaestro(clients(), options({ imageId: null })).catch((error: KatapultError) => error);
    expect(unset).toMatchObject({ code: 'KP_AWS_IMAGE_NOT_FOUND' });
    expect((unset as KatapultError).toLine()).toMatch(/set maestro_img_id to an AMI/);
    const gone = await launchMaestro(clients(), options({ imageId: 'ami-0gone' })).catch((error: KatapultError) => error);
    expect((gone as KatapultError).toLine()).toMatch(/maestro_img_id must be an AMI/);
    expect((gone as KatapultError).toLine()).not.toContain('instances[]');
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });

  it("with keyPairFile, launches with the project's key pair (made once, shared with the agents)", async () => {
    freshAccount();
    const dir = mkdtempSync(join(tmpdir(), 'kp-maestro-key-'));
    try {
      const file = join(dir, 'katapult-demo.pem');
      writeFileSync(file, 'key');
      ec2.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [{ KeyName: 'katapult-demo', KeyPairId: 'key-1' }] });
      await launchMaestro(clients(), options({ keyPairFile: file }));
      expect(callOrder({ ec2 }).slice(-6)).toEqual([
        'ec2.DescribeInstanceTypes',
        'ec2.DescribeImages',
        'ec2.DescribeKeyPairs',
        'ec2.RunInstances',
        'ec2.DescribeInstances',
        'ec2.DescribeInstances',
      ]);
      expect(ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input.KeyName).toBe('katapult-demo');
      // A key pair opens no port: SSH needs sshCidr.
      expect(JSON.stringify(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]!.args[0].input)).not.toContain('"FromPort":22');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('retries while a new instance profile has not reached EC2 yet, with a new client token', async () => {
    freshAccount();
    let tokens = 0;
    ec2
      .on(RunInstancesCommand)
      .rejectsOnce(
        ec2Error(
          'InvalidParameterValue',
          'Value (katapult-demo-maestro) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name',
        ),
      )
      .resolves({ Instances: [{ InstanceId: 'i-0maestro' }] });
    await launchMaestro(clients(), options({ newToken: () => `token-${++tokens}` }));
    expect(ec2.commandCalls(RunInstancesCommand).map((call) => call.args[0].input.ClientToken)).toEqual(['token-1', 'token-2']);
    expect(slept).toEqual([2000, 5000]);
  });

  it('an AWS error is one line', async () => {
    freshAccount();
    ec2.on(RunInstancesCommand).rejects(ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.'));
    const error = await launchMaestro(clients(), options()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KatapultError);
    expect((error as KatapultError).toLine()).toBe(
      "KP_AWS_UNAUTHORIZED EC2 RunInstances: the credentials may not use ec2:RunInstances (UnauthorizedOperation) (allow ec2:RunInstances to the profile's user or role (see README, AWS))",
    );
  });

  it('waits with the injected sleep, through an instance EC2 does not know yet, and gives up at the timeout in one line', async () => {
    freshAccount();
    let looks = 0;
    ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
      if (!input.InstanceIds) return { Reservations: [] };
      if (looks++ === 0) throw ec2Error('InvalidInstanceID.NotFound', "The instance ID 'i-0maestro' does not exist");
      return { Reservations: [{ Instances: [{ InstanceId: 'i-0maestro', State: { Name: 'running' }, PrivateIpAddress: '172.31.5.6' }] }] };
    });
    const error = await launchMaestro(clients(), options({ pollMs: 10_000, timeoutMs: 60_000 })).catch((caught: unknown) => caught);
    expect((error as KatapultError).toLine()).toBe(
      'KP_AWS_MAESTRO_TIMEOUT the maestro i-0maestro is not running with a public address after 60 s (it is running) (launch again to keep waiting, or look at it in the EC2 console)',
    );
    expect((error as KatapultError).exitCode).toBe(3);
    expect(slept).toEqual([10_000, 10_000, 10_000, 10_000, 10_000, 10_000]);
    expect(looks).toBe(7);
  });

  it('a maestro terminated while starting is one line, at once', async () => {
    freshAccount();
    ec2
      .on(DescribeInstancesCommand)
      .callsFake(
        maestroLooks({ State: { Name: 'terminated' }, StateReason: { Message: 'Server.InternalError: Internal error on launch' } }),
      );
    await expect(launchMaestro(clients(), options())).rejects.toMatchObject({
      code: 'KP_AWS_MAESTRO_GONE',
      message: 'the maestro i-0maestro is terminated (Server.InternalError: Internal error on launch)',
    });
    expect(slept).toEqual([]);
  });
});

describe("the maestro's resources", () => {
  it('are named katapult-<project>-maestro, shortened with a hash past 64 characters but keeping the suffix', () => {
    expect(maestroResourceName('demo')).toBe('katapult-demo-maestro');
    const long = 'p'.repeat(63);
    expect(maestroResourceName(long)).toHaveLength(64);
    expect(maestroResourceName(long)).toMatch(/^katapult-p+-[0-9a-f]{8}-maestro$/);
    expect(maestroResourceName(long)).not.toBe(resourceName(long));
    expect(resourceName(long)).toHaveLength(64);
  });

  it("the policy allows exactly what the coordinator does once the agents' resources exist", () => {
    expect(JSON.parse(maestroPolicy({ project: 'demo', cluster: 'c1', region: 'eu-west-3' }))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Ec2Read',
          Effect: 'Allow',
          Action: [
            'ec2:DescribeImages',
            'ec2:DescribeInstanceTypes',
            'ec2:DescribeInstances',
            'ec2:DescribeInternetGateways',
            'ec2:DescribeKeyPairs',
            'ec2:DescribeRouteTables',
            'ec2:DescribeSecurityGroups',
            'ec2:DescribeSubnets',
            'ec2:DescribeVpcs',
          ],
          Resource: '*',
        },
        {
          Sid: 'LaunchProjectAgents',
          Effect: 'Allow',
          Action: 'ec2:RunInstances',
          Resource: 'arn:aws:ec2:*:*:instance/*',
          Condition: {
            StringEquals: { 'aws:RequestTag/katapult:project': 'demo', 'aws:RequestTag/katapult:cluster': 'c1' },
            ArnLike: { 'ec2:InstanceProfile': 'arn:aws:iam::*:instance-profile/katapult/katapult-demo' },
          },
        },
        {
          Sid: 'LaunchTaggedVolumesAndSpotRequests',
          Effect: 'Allow',
          Action: 'ec2:RunInstances',
          Resource: ['arn:aws:ec2:*:*:volume/*', 'arn:aws:ec2:*:*:spot-instances-request/*'],
          Condition: { StringEquals: { 'aws:RequestTag/katapult:project': 'demo', 'aws:RequestTag/katapult:cluster': 'c1' } },
        },
        {
          Sid: 'LaunchInProjectGroup',
          Effect: 'Allow',
          Action: 'ec2:RunInstances',
          Resource: 'arn:aws:ec2:*:*:security-group/*',
          Condition: { StringEquals: { 'aws:ResourceTag/katapult:project': 'demo' } },
        },
        {
          Sid: 'LaunchFrom',
          Effect: 'Allow',
          Action: 'ec2:RunInstances',
          Resource: [
            'arn:aws:ec2:*::image/*',
            'arn:aws:ec2:*:*:subnet/*',
            'arn:aws:ec2:*:*:network-interface/*',
            'arn:aws:ec2:*:*:key-pair/*',
          ],
        },
        {
          Sid: 'TagAtLaunch',
          Effect: 'Allow',
          Action: 'ec2:CreateTags',
          Resource: '*',
          Condition: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
        },
        {
          Sid: 'TerminateProjectAgents',
          Effect: 'Allow',
          Action: 'ec2:TerminateInstances',
          Resource: 'arn:aws:ec2:*:*:instance/*',
          Condition: { StringEquals: { 'aws:ResourceTag/katapult:project': 'demo', 'aws:ResourceTag/katapult:cluster': 'c1' } },
        },
        {
          Sid: 'ReadAgentRole',
          Effect: 'Allow',
          Action: ['iam:GetRole', 'iam:GetRolePolicy'],
          Resource: 'arn:aws:iam::*:role/katapult/katapult-demo',
        },
        {
          Sid: 'ReadAgentProfile',
          Effect: 'Allow',
          Action: 'iam:GetInstanceProfile',
          Resource: 'arn:aws:iam::*:instance-profile/katapult/katapult-demo',
        },
        {
          Sid: 'PassAgentRole',
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: 'arn:aws:iam::*:role/katapult/katapult-demo',
          Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
        },
        { Sid: 'EcrLogin', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
        {
          Sid: 'EcrPullKatapultImages',
          Effect: 'Allow',
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
          Resource: 'arn:aws:ecr:*:*:repository/katapult/*',
        },
      ],
    });
    expect(maestroPolicy({ project: 'demo', cluster: 'c1', region: 'cn-north-1' })).toContain(
      'arn:aws-cn:iam::*:role/katapult/katapult-demo',
    );
  });

  it("an instance role's policy is written when it differs, or when it may not be read; not when it is the same", async () => {
    const ensure = () => ensureInstanceProfile(clients().iam, owner, 'eu-west-3');
    const puts = () => iam.commandCalls(PutRolePolicyCommand).length;
    iam.reset();
    iam.on(GetRoleCommand).resolves({ Role: { RoleName: 'katapult-demo', Tags: owned } as never });
    iam.on(GetInstanceProfileCommand).resolves({
      InstanceProfile: { InstanceProfileName: 'katapult-demo', Roles: [{ RoleName: 'katapult-demo' }], Tags: owned } as never,
    });
    iam
      .on(GetRolePolicyCommand)
      .resolves({ PolicyDocument: encodeURIComponent(JSON.stringify(JSON.parse(ecrPullPolicy('eu-west-3')), null, 2)) });
    await ensure();
    expect(puts()).toBe(0);
    iam.on(GetRolePolicyCommand).resolves({ PolicyDocument: encodeURIComponent(ecrPullPolicy('cn-north-1')) });
    await ensure();
    expect(puts()).toBe(1);
    iam.on(GetRolePolicyCommand).rejects(Object.assign(new Error('not allowed'), { name: 'AccessDenied' }));
    await ensure();
    expect(puts()).toBe(2);
    iam.on(GetRolePolicyCommand).rejects(Object.assign(new Error('slow down'), { name: 'Throttling' }));
    await expect(ensure()).rejects.toMatchObject({ code: 'KP_AWS_THROTTLED' });
  });

  it('the RunInstances input leaves the volume size to the caller and names a key pair only when given', () => {
    const input = maestroRunInstancesInput({
      owner,
      instanceType: 't3.small',
      image: { imageId: 'ami-1', rootDeviceName: undefined },
      subnetId: 'subnet-a',
      securityGroupId: 'sg-maestro',
      instanceProfileName: 'katapult-demo-maestro',
      keyName: 'katapult-demo',
      userData: USER_DATA,
      diskSize: 30,
      clientToken: 't',
    });
    expect(input.KeyName).toBe('katapult-demo');
    expect(input.SubnetId).toBeUndefined();
    expect(input.SecurityGroupIds).toBeUndefined();
    expect(input.InstanceMarketOptions).toBeUndefined();
    expect(input.BlockDeviceMappings).toEqual([
      { DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: true, VolumeSize: 30, VolumeType: 'gp3' } },
    ]);
  });
});

/**
 * The coordinator on the maestro runs AwsProvider with the maestro's role. Once launchMaestro has made the agents'
 * resources, every call AwsProvider.ensure and terminateAll make must be one the maestro's policy allows.
 */
describe('the coordinator on the maestro', () => {
  beforeEach(() => {
    ec2.reset();
    iam.reset();
  });

  function allowedActions(): Set<string> {
    const policy = JSON.parse(maestroPolicy({ project: 'demo', cluster: 'c1', region: 'eu-west-3' })) as {
      Statement: { Action: string | string[] }[];
    };
    return new Set(policy.Statement.flatMap((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action])));
  }
  const asAction = (call: string) => call.replace(/^(ec2|iam)\./, (_, service: string) => `${service}:`);

  it("ensure and terminateAll, with the agents' resources there, call only what the maestro's policy allows; the maestro's group is not the agents'", async () => {
    accountWithEverything();
    let launched = 0;
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2.on(RunInstancesCommand).callsFake(() => ({ Instances: [{ InstanceId: `i-0agent${++launched}` }] }));
    ec2.on(TerminateInstancesCommand).resolves({});
    const provider = new AwsProvider(clients(), {
      cluster: 'c1',
      region: 'eu-west-3',
      agent: {
        image: '123456789012.dkr.ecr.eu-west-3.amazonaws.com/katapult/agent:1',
        natsUrl: 'tls://172.31.5.6:4222',
        natsCa: 'CA',
        stackLabel: 's1',
      },
      newToken: () => 'token',
      sleep: async () => undefined,
    });
    await provider.ensure(instancesOf('instances: [{type: t3.large, number: 2, eco: true}]'), owner);
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0agent1' }, { InstanceId: 'i-0agent2' }] }] });
    await provider.terminateAll();

    const calls = callOrder({ ec2, iam });
    expect(calls).toEqual([
      'ec2.DescribeVpcs',
      'ec2.DescribeSubnets',
      'ec2.DescribeSecurityGroups',
      'iam.GetRole',
      'iam.GetRolePolicy',
      'iam.GetInstanceProfile',
      'ec2.DescribeInstances',
      'ec2.DescribeInstanceTypes',
      'ec2.DescribeImages',
      'ec2.RunInstances',
      'ec2.DescribeInstances',
      'ec2.TerminateInstances',
    ]);
    expect(calls.filter((call) => /Create|Put|Add|Authorize|Revoke|Delete/.test(call))).toEqual([]);
    const allowed = allowedActions();
    expect(calls.map(asAction).filter((action) => !allowed.has(action))).toEqual([]);
    expect(ec2.commandCalls(RunInstancesCommand).map((call) => call.args[0].input.SecurityGroupIds)).toEqual([['sg-agents']]);
    expect(ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input.IamInstanceProfile).toEqual({ Name: 'katapult-demo' });

    // Every resource the agents' RunInstances creates carries the tags the policy's conditions ask for.
    const policy = JSON.parse(maestroPolicy({ project: 'demo', cluster: 'c1', region: 'eu-west-3' })) as {
      Statement: { Sid: string; Resource: string | string[]; Condition?: { StringEquals?: Record<string, string> } }[];
    };
    const asked = policy.Statement.find((statement) => statement.Sid === 'LaunchProjectAgents')!.Condition!.StringEquals!;
    const wanted = Object.entries(asked).map(([key, value]) => ({ Key: key.replace('aws:RequestTag/', ''), Value: value }));
    const created = ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input.TagSpecifications ?? [];
    expect(created.map((spec) => spec.ResourceType)).toEqual(['instance', 'volume', 'spot-instances-request']);
    for (const spec of created) expect(spec.Tags).toEqual(expect.arrayContaining(wanted));
  });
});
