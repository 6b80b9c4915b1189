import {
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type Filter,
  type Tag,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, ListInstanceProfilesCommand, ListRolesCommand, ListRoleTagsCommand } from '@aws-sdk/client-iam';
import type { Market } from '@katapult/core';
import { awsCall, ec2Operation as ec2, iamOperation as iam } from './aws-errors.js';
import type { AwsClients } from './aws-provider.js';
import { TAG, tagValue } from './tags.js';

/** A resource carrying `katapult:project`, of whichever project: what `katapult ls --aws` lists. */
export interface TaggedResource {
  project: string;
  kind: 'instance' | 'security group' | 'key pair' | 'internet gateway' | 'subnet' | 'vpc' | 'role' | 'instance profile';
  id: string;
  /** Null for IAM, which is global. */
  region: string | null;
  /** When AWS says (instances: launch time; key pairs, roles, profiles: creation). */
  createdAt: Date | null;
  /** Instances only. */
  instanceType?: string | undefined;
  market?: Market | undefined;
  state?: string | undefined;
}

const anyProject: Filter[] = [{ Name: 'tag-key', Values: [TAG.project] }];
const NOT_GONE = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

/** The EC2 resources of one region tagged `katapult:project`, any project's. */
export async function listTaggedEc2(clients: AwsClients, region: string): Promise<TaggedResource[]> {
  const { ec2: client } = clients;
  const found: TaggedResource[] = [];
  const add = (kind: TaggedResource['kind'], id: string | undefined, tags: Tag[] | undefined, extra: Partial<TaggedResource> = {}) => {
    const project = tagValue(tags, TAG.project);
    if (id && project) found.push({ project, kind, id, region, createdAt: null, ...extra });
  };
  let token: string | undefined;
  do {
    const page = await awsCall(ec2('DescribeInstances'), () =>
      client.send(
        new DescribeInstancesCommand({
          Filters: [...anyProject, { Name: 'instance-state-name', Values: NOT_GONE }],
          ...(token ? { NextToken: token } : {}),
        }),
      ),
    );
    for (const instance of (page.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? [])) {
      add('instance', instance.InstanceId, instance.Tags, {
        createdAt: instance.LaunchTime ?? null,
        instanceType: instance.InstanceType,
        market: instance.InstanceLifecycle === 'spot' ? 'spot' : 'on-demand',
        state: instance.State?.Name,
      });
    }
    token = page.NextToken;
  } while (token);
  for (const group of (
    await awsCall(ec2('DescribeSecurityGroups'), () => client.send(new DescribeSecurityGroupsCommand({ Filters: anyProject })))
  ).SecurityGroups ?? []) {
    add('security group', group.GroupId, group.Tags);
  }
  for (const key of (await awsCall(ec2('DescribeKeyPairs'), () => client.send(new DescribeKeyPairsCommand({ Filters: anyProject }))))
    .KeyPairs ?? []) {
    add('key pair', key.KeyName, key.Tags, { createdAt: key.CreateTime ?? null });
  }
  for (const gateway of (
    await awsCall(ec2('DescribeInternetGateways'), () => client.send(new DescribeInternetGatewaysCommand({ Filters: anyProject })))
  ).InternetGateways ?? []) {
    add('internet gateway', gateway.InternetGatewayId, gateway.Tags);
  }
  for (const subnet of (await awsCall(ec2('DescribeSubnets'), () => client.send(new DescribeSubnetsCommand({ Filters: anyProject }))))
    .Subnets ?? []) {
    add('subnet', subnet.SubnetId, subnet.Tags);
  }
  for (const vpc of (await awsCall(ec2('DescribeVpcs'), () => client.send(new DescribeVpcsCommand({ Filters: anyProject })))).Vpcs ?? [])
    add('vpc', vpc.VpcId, vpc.Tags);
  return found;
}

/** Katapult's IAM roles and instance profiles (path /katapult/) and the project each is tagged with. */
export async function listTaggedIam(clients: AwsClients): Promise<TaggedResource[]> {
  const found: TaggedResource[] = [];
  const roles = await awsCall(iam('ListRoles'), () => clients.iam.send(new ListRolesCommand({ PathPrefix: '/katapult/' })));
  for (const role of roles.Roles ?? []) {
    if (!role.RoleName) continue;
    const name = role.RoleName;
    const tags = (await awsCall(iam('ListRoleTags'), () => clients.iam.send(new ListRoleTagsCommand({ RoleName: name })))).Tags;
    const project = tagValue(tags, TAG.project);
    if (project) found.push({ project, kind: 'role', id: name, region: null, createdAt: role.CreateDate ?? null });
  }
  const profiles = await awsCall(iam('ListInstanceProfiles'), () =>
    clients.iam.send(new ListInstanceProfilesCommand({ PathPrefix: '/katapult/' })),
  );
  for (const listed of profiles.InstanceProfiles ?? []) {
    if (!listed.InstanceProfileName) continue;
    const name = listed.InstanceProfileName;
    // GetInstanceProfile carries the tags (ListInstanceProfileTags is newer and not everywhere).
    const profile = await awsCall(iam('GetInstanceProfile'), () =>
      clients.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name })),
    );
    const project = tagValue(profile.InstanceProfile?.Tags, TAG.project);
    if (project) found.push({ project, kind: 'instance profile', id: name, region: null, createdAt: listed.CreateDate ?? null });
  }
  return found;
}
