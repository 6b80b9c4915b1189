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
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import { KatapultError } from '@katapult/core';
import { awsCall, ec2Operation as ec2, errorName, iamOperation as iam, toKatapultError, type AwsCallContext } from './aws-errors.js';
import type { AwsClients } from './aws-provider.js';
import { TAG, resourceName, tagFilter, tagValue } from './tags.js';

/** One resource of a project, in the order `down` deletes them: whatever depends on another goes first. */
export type DownItem =
  | { kind: 'instance'; id: string; name?: string | undefined }
  | { kind: 'security group'; id: string; name?: string | undefined }
  | { kind: 'instance profile'; id: string; roles: string[] }
  | { kind: 'role'; id: string }
  | { kind: 'key pair'; id: string; name?: string | undefined }
  | { kind: 'internet gateway'; id: string; vpcIds: string[] }
  | { kind: 'subnet'; id: string }
  | { kind: 'vpc'; id: string };

/** A resource of the project removed, or with dryRun one that would be. */
export interface DownItemEvent {
  action: 'removed' | 'would-remove';
  item: DownItem;
}

export interface DownOptions {
  /** List what would be removed, and remove nothing. */
  dryRun?: boolean;
  /** Each resource as it is removed, or with dryRun would be; the front-end says it (launcher/src/lines/down-lines.ts). */
  onItem?: (event: DownItemEvent) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Between two looks at terminating instances. */
  pollMs?: number;
  /** How long instances may take to terminate. */
  timeoutMs?: number;
  /** Leave IAM (global, not of a region) alone: for the other regions of a `region` list, done before the first. */
  regionalOnly?: boolean;
}

export interface DownResult {
  dryRun: boolean;
  /** What was removed (or, with dryRun, would be), in order. */
  items: DownItem[];
}

const NOT_GONE = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

/**
 * Every resource tagged `katapult:project=<project>` (the IAM roles and profiles, the agents' and the maestro's, by
 * name, checked by tag), in deletion order. The maestro's instance is one of the project's instances.
 */
export async function listProjectResources(
  clients: AwsClients,
  project: string,
  options: { regionalOnly?: boolean } = {},
): Promise<DownItem[]> {
  const { ec2: client } = clients;
  const byProject = [tagFilter(TAG.project, project)];
  const items: DownItem[] = [];

  const instances = await awsCall(ec2('DescribeInstances'), () =>
    client.send(new DescribeInstancesCommand({ Filters: [...byProject, { Name: 'instance-state-name', Values: NOT_GONE }] })),
  );
  for (const reservation of instances.Reservations ?? []) {
    for (const instance of reservation.Instances ?? []) {
      if (instance.InstanceId) items.push({ kind: 'instance', id: instance.InstanceId, name: tagValue(instance.Tags, 'Name') });
    }
  }
  const groups = await awsCall(ec2('DescribeSecurityGroups'), () => client.send(new DescribeSecurityGroupsCommand({ Filters: byProject })));
  // The maestro's group first: its rule naming the agents' group would keep that one from being deleted.
  const maestroFirst = [...(groups.SecurityGroups ?? [])].sort(
    (a, b) => Number(tagValue(b.Tags, TAG.role) === 'maestro') - Number(tagValue(a.Tags, TAG.role) === 'maestro'),
  );
  for (const group of maestroFirst) if (group.GroupId) items.push({ kind: 'security group', id: group.GroupId, name: group.GroupName });

  // The agents' role and profile, then the maestro's.
  for (const name of options.regionalOnly ? [] : [resourceName(project), resourceName(project, '-maestro')]) {
    const profile = await iamGet(iam('GetInstanceProfile'), () =>
      clients.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name })),
    );
    if (profile && tagValue(profile.InstanceProfile?.Tags, TAG.project) === project) {
      items.push({
        kind: 'instance profile',
        id: name,
        roles: (profile.InstanceProfile?.Roles ?? []).map((role) => role.RoleName ?? '').filter(Boolean),
      });
    }
    const role = await iamGet(iam('GetRole'), () => clients.iam.send(new GetRoleCommand({ RoleName: name })));
    if (role && tagValue(role.Role?.Tags, TAG.project) === project) items.push({ kind: 'role', id: name });
  }

  const keys = await awsCall(ec2('DescribeKeyPairs'), () => client.send(new DescribeKeyPairsCommand({ Filters: byProject })));
  for (const key of keys.KeyPairs ?? []) if (key.KeyPairId) items.push({ kind: 'key pair', id: key.KeyPairId, name: key.KeyName });

  const gateways = await awsCall(ec2('DescribeInternetGateways'), () =>
    client.send(new DescribeInternetGatewaysCommand({ Filters: byProject })),
  );
  for (const gateway of gateways.InternetGateways ?? []) {
    if (!gateway.InternetGatewayId) continue;
    const vpcIds = (gateway.Attachments ?? []).map((attachment) => attachment.VpcId ?? '').filter(Boolean);
    items.push({ kind: 'internet gateway', id: gateway.InternetGatewayId, vpcIds });
  }
  const subnets = await awsCall(ec2('DescribeSubnets'), () => client.send(new DescribeSubnetsCommand({ Filters: byProject })));
  for (const subnet of subnets.Subnets ?? []) if (subnet.SubnetId) items.push({ kind: 'subnet', id: subnet.SubnetId });
  const vpcs = await awsCall(ec2('DescribeVpcs'), () => client.send(new DescribeVpcsCommand({ Filters: byProject })));
  for (const vpc of vpcs.Vpcs ?? []) if (vpc.VpcId) items.push({ kind: 'vpc', id: vpc.VpcId });
  return items;
}

/**
 * Removes every tagged resource of a project, in a safe order: instances first (then waits until EC2 says they are
 * terminated, as their network interfaces hold the security group), security groups, instance profile, role
 * (its policies first), key pairs, then the network Katapult made (internet gateway, subnet, VPC). Something
 * already gone is skipped, so a second run removes nothing and does not fail. The ECR repository is left: its
 * images may be shared by other projects (`katapult images prune` removes unused ones).
 */
export async function downProject(clients: AwsClients, project: string, options: DownOptions = {}): Promise<DownResult> {
  const items = await listProjectResources(clients, project, options);
  const report = options.onItem ?? (() => undefined);
  if (options.dryRun) {
    for (const item of items) report({ action: 'would-remove', item });
    return { dryRun: true, items };
  }
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const instances = items.filter((item) => item.kind === 'instance').map((item) => item.id);
  if (instances.length > 0) {
    await awsCall(ec2('TerminateInstances'), () => clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: instances })));
    await waitTerminated(clients, instances, { ...options, sleep });
    for (const item of items) if (item.kind === 'instance') report({ action: 'removed', item });
  }
  for (const item of items) {
    if (item.kind === 'instance') continue;
    await removeOne(clients, item, sleep);
    report({ action: 'removed', item });
  }
  return { dryRun: false, items };
}

async function waitTerminated(
  clients: AwsClients,
  ids: string[],
  options: DownOptions & { sleep: (ms: number) => Promise<void> },
): Promise<void> {
  const now = options.now ?? Date.now;
  const deadline = now() + (options.timeoutMs ?? 600_000);
  for (;;) {
    const described = await awsCall(ec2('DescribeInstances'), () => clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids })));
    const left = (described.Reservations ?? [])
      .flatMap((reservation) => reservation.Instances ?? [])
      .filter((instance) => instance.State?.Name !== 'terminated')
      .map((instance) => instance.InstanceId);
    if (left.length === 0) return;
    if (now() >= deadline) {
      throw new KatapultError('KP_AWS_DOWN_TIMEOUT', `instances still not terminated: ${left.join(', ')}`, {
        hint: 'run katapult down again in a minute',
      });
    }
    await options.sleep(options.pollMs ?? 5_000);
  }
}

async function removeOne(clients: AwsClients, item: DownItem, sleep: (ms: number) => Promise<void>): Promise<void> {
  const { ec2: client } = clients;
  switch (item.kind) {
    case 'instance':
      return;
    case 'security group':
      // An instance's network interface may hold the group a little after the instance is terminated.
      return retryDependency(ec2('DeleteSecurityGroup'), () => client.send(new DeleteSecurityGroupCommand({ GroupId: item.id })), sleep);
    case 'instance profile':
      for (const role of item.roles) {
        await gone(iam('RemoveRoleFromInstanceProfile'), () =>
          clients.iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: item.id, RoleName: role })),
        );
      }
      return gone(iam('DeleteInstanceProfile'), () => clients.iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: item.id })));
    case 'role': {
      const inline = await iamGet(iam('ListRolePolicies'), () => clients.iam.send(new ListRolePoliciesCommand({ RoleName: item.id })));
      for (const policy of inline?.PolicyNames ?? []) {
        await gone(iam('DeleteRolePolicy'), () => clients.iam.send(new DeleteRolePolicyCommand({ RoleName: item.id, PolicyName: policy })));
      }
      const attached = await iamGet(iam('ListAttachedRolePolicies'), () =>
        clients.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: item.id })),
      );
      for (const policy of attached?.AttachedPolicies ?? []) {
        await gone(iam('DetachRolePolicy'), () =>
          clients.iam.send(new DetachRolePolicyCommand({ RoleName: item.id, PolicyArn: policy.PolicyArn })),
        );
      }
      return gone(iam('DeleteRole'), () => clients.iam.send(new DeleteRoleCommand({ RoleName: item.id })));
    }
    case 'key pair':
      return gone(ec2('DeleteKeyPair'), () => client.send(new DeleteKeyPairCommand({ KeyPairId: item.id })));
    case 'internet gateway':
      for (const vpcId of item.vpcIds) {
        await gone(ec2('DetachInternetGateway'), () =>
          client.send(new DetachInternetGatewayCommand({ InternetGatewayId: item.id, VpcId: vpcId })),
        );
      }
      return gone(ec2('DeleteInternetGateway'), () => client.send(new DeleteInternetGatewayCommand({ InternetGatewayId: item.id })));
    case 'subnet':
      return retryDependency(ec2('DeleteSubnet'), () => client.send(new DeleteSubnetCommand({ SubnetId: item.id })), sleep);
    case 'vpc':
      return retryDependency(ec2('DeleteVpc'), () => client.send(new DeleteVpcCommand({ VpcId: item.id })), sleep);
  }
}

const isGone = (error: unknown) => /NotFound|NoSuchEntity|Gateway\.NotAttached/.test(errorName(error));

/** An IAM read whose "no such entity" means there is nothing to do. */
async function iamGet<T>(context: AwsCallContext, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    if (isGone(error)) return undefined;
    throw toKatapultError(error, context);
  }
}

/** A delete whose target is already gone (removed meanwhile, or by a run of `down` cut short) has nothing left to do. */
async function gone(context: AwsCallContext, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!isGone(error)) throw toKatapultError(error, context);
  }
}

async function retryDependency(context: AwsCallContext, work: () => Promise<unknown>, sleep: (ms: number) => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await work();
      return;
    } catch (error) {
      if (isGone(error)) return;
      if (errorName(error) !== 'DependencyViolation' || attempt >= 12) throw toKatapultError(error, context);
      await sleep(5_000);
    }
  }
}
