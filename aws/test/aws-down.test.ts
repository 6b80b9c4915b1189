import {
  DeleteInternetGatewayCommand,
  DeleteKeyPairCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  DetachInternetGatewayCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  NoSuchEntityException,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
// The CLI's renderer of down events: the lines asserted here are the ones `katapult down` prints.
import { beforeEach, describe, expect, it } from 'vitest';
import { downProject, type DownItemEvent } from '../src/aws-down.js';
import { callOrder, ec2Error } from './aws-helpers.js';

const ec2 = mockClient(EC2Client);
const iam = mockClient(IAMClient);
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const clients = () => ({
  ec2: new EC2Client({ region: 'eu-west-3', credentials }),
  iam: new IAMClient({ region: 'eu-west-3', credentials }),
});
const owned = [{ Key: 'katapult:project', Value: 'demo' }];
const byProject = [{ Name: 'tag:katapult:project', Values: ['demo'] }];
const noSuchEntity = () => new NoSuchEntityException({ message: 'not found', $metadata: {} });

/**
 * A fake AWS account holding one project's resources: describe calls list what is left, delete calls remove it,
 * so running `down` twice shows what the second run finds.
 */
function account(options: { maestro?: boolean } = {}) {
  const state = {
    instances: new Map([
      ['i-01', 'running'],
      ['i-02', 'running'],
      ...(options.maestro ? ([['i-0m', 'running']] as [string, string][]) : []),
    ]),
    groups: options.maestro ? ['sg-1', 'sg-m'] : ['sg-1'],
    profile: true,
    role: true,
    maestroProfile: Boolean(options.maestro),
    maestroRole: Boolean(options.maestro),
    keys: ['key-1'],
    gateways: ['igw-1'],
    subnets: ['subnet-1'],
    vpcs: ['vpc-1'],
  };
  let polls = 0;
  ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[] }) => {
    if (input.InstanceIds) {
      // Termination takes two looks: shutting-down, then terminated.
      polls++;
      return {
        Reservations: [
          { Instances: input.InstanceIds.map((id) => ({ InstanceId: id, State: { Name: polls < 2 ? 'shutting-down' : 'terminated' } })) },
        ],
      };
    }
    const live = [...state.instances].filter(([, s]) => s !== 'terminated');
    const name = (id: string) => (id === 'i-0m' ? 'katapult-demo-maestro' : 'katapult-demo-0');
    return {
      Reservations: live.length ? [{ Instances: live.map(([id]) => ({ InstanceId: id, Tags: [{ Key: 'Name', Value: name(id) }] })) }] : [],
    };
  });
  ec2.on(TerminateInstancesCommand).callsFake((input: { InstanceIds: string[] }) => {
    for (const id of input.InstanceIds) state.instances.set(id, 'terminated');
    return {};
  });
  ec2.on(DescribeSecurityGroupsCommand).callsFake(() => ({
    SecurityGroups: state.groups.map((id) =>
      id === 'sg-m'
        ? { GroupId: id, GroupName: 'katapult-demo-maestro', Tags: [...owned, { Key: 'katapult:role', Value: 'maestro' }] }
        : { GroupId: id, GroupName: 'katapult-demo', Tags: owned },
    ),
  }));
  ec2.on(DeleteSecurityGroupCommand).callsFake((input: { GroupId: string }) => {
    // The maestro's group has a rule naming the agents' group, as in EC2.
    if (input.GroupId === 'sg-1' && state.groups.includes('sg-m'))
      throw ec2Error('DependencyViolation', 'resource sg-1 has a dependent object');
    state.groups = state.groups.filter((id) => id !== input.GroupId);
    return {};
  });
  const isMaestro = (name: string) => name === 'katapult-demo-maestro';
  iam.on(GetInstanceProfileCommand).callsFake((input: { InstanceProfileName: string }) => {
    if (!(isMaestro(input.InstanceProfileName) ? state.maestroProfile : state.profile)) throw noSuchEntity();
    return {
      InstanceProfile: { InstanceProfileName: input.InstanceProfileName, Roles: [{ RoleName: input.InstanceProfileName }], Tags: owned },
    };
  });
  iam.on(GetRoleCommand).callsFake((input: { RoleName: string }) => {
    if (!(isMaestro(input.RoleName) ? state.maestroRole : state.role)) throw noSuchEntity();
    return { Role: { RoleName: input.RoleName, Tags: owned } };
  });
  iam.on(RemoveRoleFromInstanceProfileCommand).resolves({});
  iam.on(DeleteInstanceProfileCommand).callsFake((input: { InstanceProfileName: string }) => {
    if (isMaestro(input.InstanceProfileName)) state.maestroProfile = false;
    else state.profile = false;
    return {};
  });
  iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: ['katapult-ecr-pull'] });
  iam
    .on(ListAttachedRolePoliciesCommand)
    .resolves({ AttachedPolicies: [{ PolicyArn: 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly' }] });
  iam.on(DeleteRolePolicyCommand).resolves({});
  iam.on(DetachRolePolicyCommand).resolves({});
  iam.on(DeleteRoleCommand).callsFake((input: { RoleName: string }) => {
    if (isMaestro(input.RoleName)) state.maestroRole = false;
    else state.role = false;
    return {};
  });
  ec2.on(DescribeKeyPairsCommand).callsFake(() => ({ KeyPairs: state.keys.map((id) => ({ KeyPairId: id, KeyName: 'katapult-demo' })) }));
  ec2.on(DeleteKeyPairCommand).callsFake((input: { KeyPairId: string }) => {
    state.keys = state.keys.filter((id) => id !== input.KeyPairId);
    return {};
  });
  ec2
    .on(DescribeInternetGatewaysCommand)
    .callsFake(() => ({ InternetGateways: state.gateways.map((id) => ({ InternetGatewayId: id, Attachments: [{ VpcId: 'vpc-1' }] })) }));
  ec2.on(DetachInternetGatewayCommand).resolves({});
  ec2.on(DeleteInternetGatewayCommand).callsFake((input: { InternetGatewayId: string }) => {
    state.gateways = state.gateways.filter((id) => id !== input.InternetGatewayId);
    return {};
  });
  ec2.on(DescribeSubnetsCommand).callsFake(() => ({ Subnets: state.subnets.map((id) => ({ SubnetId: id })) }));
  ec2.on(DeleteSubnetCommand).callsFake((input: { SubnetId: string }) => {
    state.subnets = state.subnets.filter((id) => id !== input.SubnetId);
    return {};
  });
  ec2.on(DescribeVpcsCommand).callsFake(() => ({ Vpcs: state.vpcs.map((id) => ({ VpcId: id })) }));
  ec2.on(DeleteVpcCommand).callsFake((input: { VpcId: string }) => {
    state.vpcs = state.vpcs.filter((id) => id !== input.VpcId);
    return {};
  });
  return state;
}

const LISTING = [
  'ec2.DescribeInstances',
  'ec2.DescribeSecurityGroups',
  'iam.GetInstanceProfile',
  'iam.GetRole',
  'iam.GetInstanceProfile',
  'iam.GetRole',
  'ec2.DescribeKeyPairs',
  'ec2.DescribeInternetGateways',
  'ec2.DescribeSubnets',
  'ec2.DescribeVpcs',
];

/** What each item event says, written out here as `katapult down` words it (the launcher renders it; aws cannot import it). */
function itemLine({ action, item }: DownItemEvent): string {
  const named = 'name' in item ? item.name : undefined;
  const name = named && named !== item.id ? ` (${named})` : '';
  return `${action === 'removed' ? 'removed' : 'would remove'} ${item.kind} ${item.id}${name}`;
}

describe('AWS down', () => {
  let slept: number[];
  let logs: string[];
  const options = () => ({
    sleep: async (ms: number) => void slept.push(ms),
    onItem: (event: DownItemEvent) => void logs.push(itemLine(event)),
    pollMs: 5000,
  });

  beforeEach(() => {
    ec2.reset();
    iam.reset();
    slept = [];
    logs = [];
  });

  it('lists by tag, then deletes in a safe order: instances (and waits for them), security group, profile, role, key pair, network', async () => {
    account();
    const result = await downProject(clients(), 'demo', options());
    expect(callOrder({ ec2, iam })).toEqual([
      ...LISTING,
      'ec2.TerminateInstances',
      'ec2.DescribeInstances',
      'ec2.DescribeInstances',
      'ec2.DeleteSecurityGroup',
      'iam.RemoveRoleFromInstanceProfile',
      'iam.DeleteInstanceProfile',
      'iam.ListRolePolicies',
      'iam.DeleteRolePolicy',
      'iam.ListAttachedRolePolicies',
      'iam.DetachRolePolicy',
      'iam.DeleteRole',
      'ec2.DeleteKeyPair',
      'ec2.DetachInternetGateway',
      'ec2.DeleteInternetGateway',
      'ec2.DeleteSubnet',
      'ec2.DeleteVpc',
    ]);
    for (const command of [
      DescribeInstancesCommand,
      DescribeSecurityGroupsCommand,
      DescribeKeyPairsCommand,
      DescribeInternetGatewaysCommand,
      DescribeSubnetsCommand,
      DescribeVpcsCommand,
    ]) {
      expect((ec2.commandCalls(command as never)[0]!.args[0] as { input: { Filters: unknown[] } }).input.Filters.slice(0, 1)).toEqual(
        byProject,
      );
    }
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters![1]).toEqual({
      Name: 'instance-state-name',
      Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'],
    });
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: ['i-01', 'i-02'] });
    expect(ec2.commandCalls(DescribeInstancesCommand)[1]!.args[0].input).toEqual({ InstanceIds: ['i-01', 'i-02'] });
    expect(slept).toEqual([5000]);
    expect(iam.commandCalls(DeleteRolePolicyCommand)[0]!.args[0].input).toEqual({
      RoleName: 'katapult-demo',
      PolicyName: 'katapult-ecr-pull',
    });
    expect(ec2.commandCalls(DetachInternetGatewayCommand)[0]!.args[0].input).toEqual({ InternetGatewayId: 'igw-1', VpcId: 'vpc-1' });
    expect(result.items.map((item) => item.kind)).toEqual([
      'instance',
      'instance',
      'security group',
      'instance profile',
      'role',
      'key pair',
      'internet gateway',
      'subnet',
      'vpc',
    ]);
    expect(logs).toEqual([
      'removed instance i-01 (katapult-demo-0)',
      'removed instance i-02 (katapult-demo-0)',
      'removed security group sg-1 (katapult-demo)',
      'removed instance profile katapult-demo',
      'removed role katapult-demo',
      'removed key pair key-1 (katapult-demo)',
      'removed internet gateway igw-1',
      'removed subnet subnet-1',
      'removed vpc vpc-1',
    ]);
  });

  it('is idempotent: a second run finds nothing, removes nothing, and does not fail', async () => {
    account();
    await downProject(clients(), 'demo', options());
    ec2.resetHistory();
    iam.resetHistory();
    logs = [];
    const again = await downProject(clients(), 'demo', options());
    expect(again.items).toEqual([]);
    expect(callOrder({ ec2, iam })).toEqual(LISTING);
    expect(logs).toEqual([]);
  });

  it('--dry-run lists the same resources and deletes nothing', async () => {
    account();
    const planned = await downProject(clients(), 'demo', { ...options(), dryRun: true });
    expect(planned.dryRun).toBe(true);
    expect(callOrder({ ec2, iam })).toEqual(LISTING);
    expect(logs[0]).toBe('would remove instance i-01 (katapult-demo-0)');
    expect(logs).toHaveLength(9);
  });

  it('leaves a role or profile of the same name that is not tagged for the project', async () => {
    account();
    iam.on(GetRoleCommand).resolves({ Role: { RoleName: 'katapult-demo', Tags: [] } as never });
    iam.on(GetInstanceProfileCommand).resolves({
      InstanceProfile: { InstanceProfileName: 'katapult-demo', Roles: [], Tags: [{ Key: 'katapult:project', Value: 'other' }] } as never,
    });
    const result = await downProject(clients(), 'demo', options());
    expect(result.items.map((item) => item.kind)).not.toContain('role');
    expect(result.items.map((item) => item.kind)).not.toContain('instance profile');
    expect(iam.commandCalls(DeleteRoleCommand)).toHaveLength(0);
  });

  it("retries a security group still held by a terminated instance's network interface; skips what vanished meanwhile", async () => {
    account();
    ec2.on(DeleteSecurityGroupCommand).rejectsOnce(ec2Error('DependencyViolation', 'resource sg-1 has a dependent object')).resolves({});
    ec2.on(DeleteKeyPairCommand).rejects(ec2Error('InvalidKeyPair.NotFound', 'The key pair does not exist'));
    await downProject(clients(), 'demo', options());
    expect(ec2.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(2);
    expect(slept).toEqual([5000, 5000]);
  });

  it("with a maestro: terminates it with the agents, deletes its security group before the agents' one, then its profile and role", async () => {
    account({ maestro: true });
    const result = await downProject(clients(), 'demo', options());
    expect(callOrder({ ec2, iam })).toEqual([
      ...LISTING,
      'ec2.TerminateInstances',
      'ec2.DescribeInstances',
      'ec2.DescribeInstances',
      'ec2.DeleteSecurityGroup',
      'ec2.DeleteSecurityGroup',
      'iam.RemoveRoleFromInstanceProfile',
      'iam.DeleteInstanceProfile',
      'iam.ListRolePolicies',
      'iam.DeleteRolePolicy',
      'iam.ListAttachedRolePolicies',
      'iam.DetachRolePolicy',
      'iam.DeleteRole',
      'iam.RemoveRoleFromInstanceProfile',
      'iam.DeleteInstanceProfile',
      'iam.ListRolePolicies',
      'iam.DeleteRolePolicy',
      'iam.ListAttachedRolePolicies',
      'iam.DetachRolePolicy',
      'iam.DeleteRole',
      'ec2.DeleteKeyPair',
      'ec2.DetachInternetGateway',
      'ec2.DeleteInternetGateway',
      'ec2.DeleteSubnet',
      'ec2.DeleteVpc',
    ]);
    expect(iam.commandCalls(GetInstanceProfileCommand).map((call) => call.args[0].input)).toEqual([
      { InstanceProfileName: 'katapult-demo' },
      { InstanceProfileName: 'katapult-demo-maestro' },
    ]);
    expect(iam.commandCalls(GetRoleCommand).map((call) => call.args[0].input)).toEqual([
      { RoleName: 'katapult-demo' },
      { RoleName: 'katapult-demo-maestro' },
    ]);
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: ['i-01', 'i-02', 'i-0m'] });
    // No DependencyViolation: the maestro's group, which names the agents' one, goes first.
    expect(ec2.commandCalls(DeleteSecurityGroupCommand).map((call) => call.args[0].input)).toEqual([
      { GroupId: 'sg-m' },
      { GroupId: 'sg-1' },
    ]);
    expect(iam.commandCalls(RemoveRoleFromInstanceProfileCommand).map((call) => call.args[0].input)).toEqual([
      { InstanceProfileName: 'katapult-demo', RoleName: 'katapult-demo' },
      { InstanceProfileName: 'katapult-demo-maestro', RoleName: 'katapult-demo-maestro' },
    ]);
    expect(iam.commandCalls(DeleteRoleCommand).map((call) => call.args[0].input)).toEqual([
      { RoleName: 'katapult-demo' },
      { RoleName: 'katapult-demo-maestro' },
    ]);
    expect(slept).toEqual([5000]);
    expect(result.items.map((item) => `${item.kind} ${item.id}`)).toEqual([
      'instance i-01',
      'instance i-02',
      'instance i-0m',
      'security group sg-m',
      'security group sg-1',
      'instance profile katapult-demo',
      'role katapult-demo',
      'instance profile katapult-demo-maestro',
      'role katapult-demo-maestro',
      'key pair key-1',
      'internet gateway igw-1',
      'subnet subnet-1',
      'vpc vpc-1',
    ]);
    expect(logs).toContain('removed instance i-0m (katapult-demo-maestro)');
    expect(logs).toContain('removed security group sg-m (katapult-demo-maestro)');
  });

  it('with a maestro, is idempotent: a second run finds nothing and removes nothing', async () => {
    const state = account({ maestro: true });
    await downProject(clients(), 'demo', options());
    expect(state).toMatchObject({ groups: [], profile: false, role: false, maestroProfile: false, maestroRole: false });
    ec2.resetHistory();
    iam.resetHistory();
    logs = [];
    const again = await downProject(clients(), 'demo', options());
    expect(again.items).toEqual([]);
    expect(callOrder({ ec2, iam })).toEqual(LISTING);
    expect(logs).toEqual([]);
  });

  it('leaves a maestro role of that name that is not tagged for the project', async () => {
    account({ maestro: true });
    iam
      .on(GetRoleCommand, { RoleName: 'katapult-demo-maestro' })
      .resolves({ Role: { RoleName: 'katapult-demo-maestro', Tags: [{ Key: 'katapult:project', Value: 'other' }] } as never });
    const result = await downProject(clients(), 'demo', options());
    expect(result.items.filter((item) => item.kind === 'role').map((item) => item.id)).toEqual(['katapult-demo']);
    expect(iam.commandCalls(DeleteRoleCommand).map((call) => call.args[0].input)).toEqual([{ RoleName: 'katapult-demo' }]);
  });

  it('gives up waiting for instances after the timeout, in one line', async () => {
    account();
    ec2
      .on(DescribeInstancesCommand, { InstanceIds: ['i-01', 'i-02'] })
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-01', State: { Name: 'shutting-down' } }] }] });
    let clock = 0;
    const error = await downProject(clients(), 'demo', { ...options(), now: () => (clock += 60_000), timeoutMs: 180_000 }).catch(
      (caught: unknown) => caught,
    );
    expect((error as { toLine(): string }).toLine()).toBe(
      'KP_AWS_DOWN_TIMEOUT instances still not terminated: i-01 (run katapult down again in a minute)',
    );
    expect(ec2.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(0);
  });
});
