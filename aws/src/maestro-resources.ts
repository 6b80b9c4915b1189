import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import type { IAMClient } from '@aws-sdk/client-iam';
import { ExitCode, KatapultError } from '@katapult/core';
import { awsCall } from './aws-errors.js';
import { awsPartition, ecrPullStatements, ensureInstanceRole } from './resources/instance-role.js';
import { TAG, ownerTags, resourceName, tagFilter, tagSpecifications, type Owner } from './tags.js';

/** The `katapult:role` value of the maestro's instance and security group. */
export const MAESTRO_ROLE = 'maestro';
/** The maestro role's one inline policy. */
export const MAESTRO_POLICY = 'katapult-maestro';

/** `katapult-<project>-maestro`: the maestro's security group, IAM role and instance profile. */
export function maestroResourceName(project: string): string {
  return resourceName(project, '-maestro');
}

export interface MaestroPorts {
  natsPort: number;
  httpPort: number;
}

/** `a.b.c.d/n` or an IPv6 range: who may reach the maestro's NATS and API. */
export function checkCidr(name: string, cidr: string): void {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const ok = v4
    ? v4.slice(1, 5).every((part) => Number(part) <= 255) && Number(v4[5]) <= 32
    : /^[0-9a-fA-F:]*:[0-9a-fA-F:]*\/(\d{1,3})$/.test(cidr) && Number(cidr.split('/')[1]) <= 128;
  if (!ok) {
    throw new KatapultError('KP_AWS_MAESTRO_CIDR', `${name} ${JSON.stringify(cidr)} is not an address range`, {
      hint: 'give one like 198.51.100.7/32 (your address) or 2001:db8::/64',
      exitCode: ExitCode.badInput,
    });
  }
}

/** One inbound rule of one source, the unit the maestro's group is compared in. */
export interface MaestroRule {
  protocol: string;
  from: number | undefined;
  to: number | undefined;
  source: { cidr: string } | { cidr6: string } | { group: string } | { prefixList: string };
  description?: string | undefined;
}

const ruleKey = (rule: MaestroRule) => JSON.stringify([rule.protocol, rule.from ?? null, rule.to ?? null, rule.source]);

function tcp(port: number, source: MaestroRule['source'], description: string): MaestroRule {
  return { protocol: 'tcp', from: port, to: port, source, description };
}

function cidrSource(cidr: string): MaestroRule['source'] {
  return cidr.includes(':') ? { cidr6: cidr } : { cidr };
}

/**
 * What the maestro's group lets in, and nothing else: NATS and the API from `allowedCidr` (the CLI), NATS from the
 * agents' group (they dial the maestro's private address), SSH from `sshCidr` only when given.
 */
export function maestroRules(allowedCidr: string, agentsGroupId: string, ports: MaestroPorts, sshCidr?: string | null): MaestroRule[] {
  return [
    tcp(ports.natsPort, cidrSource(allowedCidr), 'katapult: NATS'),
    tcp(ports.httpPort, cidrSource(allowedCidr), 'katapult: API'),
    tcp(ports.natsPort, { group: agentsGroupId }, 'katapult: NATS from the agents'),
    ...(sshCidr ? [tcp(22, cidrSource(sshCidr), 'katapult: SSH')] : []),
  ];
}

function toPermission(rule: MaestroRule, withDescription: boolean): IpPermission {
  const description = withDescription && rule.description ? { Description: rule.description } : {};
  const source = rule.source;
  return {
    IpProtocol: rule.protocol,
    ...(rule.from === undefined ? {} : { FromPort: rule.from }),
    ...(rule.to === undefined ? {} : { ToPort: rule.to }),
    ...('cidr' in source ? { IpRanges: [{ CidrIp: source.cidr, ...description }] } : {}),
    ...('cidr6' in source ? { Ipv6Ranges: [{ CidrIpv6: source.cidr6, ...description }] } : {}),
    ...('group' in source ? { UserIdGroupPairs: [{ GroupId: source.group, ...description }] } : {}),
    ...('prefixList' in source ? { PrefixListIds: [{ PrefixListId: source.prefixList, ...description }] } : {}),
  };
}

function fromPermissions(permissions: IpPermission[] | undefined): MaestroRule[] {
  const rules: MaestroRule[] = [];
  for (const permission of permissions ?? []) {
    const base = { protocol: permission.IpProtocol ?? '-1', from: permission.FromPort, to: permission.ToPort };
    for (const range of permission.IpRanges ?? []) if (range.CidrIp) rules.push({ ...base, source: { cidr: range.CidrIp } });
    for (const range of permission.Ipv6Ranges ?? []) if (range.CidrIpv6) rules.push({ ...base, source: { cidr6: range.CidrIpv6 } });
    for (const pair of permission.UserIdGroupPairs ?? []) if (pair.GroupId) rules.push({ ...base, source: { group: pair.GroupId } });
    for (const list of permission.PrefixListIds ?? [])
      if (list.PrefixListId) rules.push({ ...base, source: { prefixList: list.PrefixListId } });
  }
  return rules;
}

/**
 * The maestro's security group `katapult-<project>-maestro` in this VPC, created when missing, tagged like the
 * project's others plus `katapult:role=maestro`. Its inbound rules are made exactly `maestroRules`: missing ones
 * are added, any other is removed (an address the CLI had before, a rule added by hand). Outbound is AWS's default.
 */
export async function ensureMaestroSecurityGroup(client: EC2Client, owner: Owner, vpcId: string, rules: MaestroRule[]): Promise<string> {
  const name = maestroResourceName(owner.project);
  const found = await awsCall(ec2('DescribeSecurityGroups'), () =>
    client.send(
      new DescribeSecurityGroupsCommand({
        Filters: [{ Name: 'vpc-id', Values: [vpcId] }, tagFilter(TAG.project, owner.project), tagFilter(TAG.role, MAESTRO_ROLE)],
      }),
    ),
  );
  const group = found.SecurityGroups?.[0];
  let groupId = group?.GroupId;
  if (!groupId) {
    const created = await awsCall(ec2('CreateSecurityGroup'), () =>
      client.send(
        new CreateSecurityGroupCommand({
          GroupName: name,
          Description: `Katapult maestro of ${owner.project}: NATS and its API`,
          VpcId: vpcId,
          TagSpecifications: tagSpecifications(['security-group'], ownerTags(owner, { Name: name, [TAG.role]: MAESTRO_ROLE })),
        }),
      ),
    );
    groupId = created.GroupId ?? '';
  }
  const existing = fromPermissions(group?.IpPermissions);
  const existingKeys = new Set(existing.map(ruleKey));
  const wantedKeys = new Set(rules.map(ruleKey));
  const missing = rules.filter((rule) => !existingKeys.has(ruleKey(rule)));
  const extra = existing.filter((rule) => !wantedKeys.has(ruleKey(rule)));
  const id = groupId;
  if (extra.length > 0) {
    await awsCall(ec2('RevokeSecurityGroupIngress'), () =>
      client.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: extra.map((rule) => toPermission(rule, false)) })),
    );
  }
  if (missing.length > 0) {
    await awsCall(ec2('AuthorizeSecurityGroupIngress'), () =>
      client.send(
        new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: missing.map((rule) => toPermission(rule, true)) }),
      ),
    );
  }
  return id;
}

/**
 * What the coordinator on the maestro does with AWS once the agents' resources exist (AwsProvider.ensure and
 * terminateAll, with no key pair and no SSH range), and no more: read the network, groups, images, types and
 * instances; launch instances only tagged for this project and cluster, with the agents' instance profile, in the
 * project's security group, and tag them as they are launched; terminate only the project's agents of this
 * cluster (the maestro has no cluster tag, so it cannot terminate itself); read the agents' role and profile
 * (ensure checks them, and writes the policy only when it differs); pass the agents' role to EC2 and no other;
 * pull Katapult's images from ECR (the maestro's own).
 */
export function maestroPolicy(options: { project: string; cluster: string; region: string | null | undefined }): string {
  const partition = awsPartition(options.region);
  const agents = resourceName(options.project);
  const role = `arn:${partition}:iam::*:role/katapult/${agents}`;
  const profile = `arn:${partition}:iam::*:instance-profile/katapult/${agents}`;
  const ec2Arn = (type: string) => `arn:${partition}:ec2:*:*:${type}/*`;
  const projectRequestTags = { [`aws:RequestTag/${TAG.project}`]: options.project, [`aws:RequestTag/${TAG.cluster}`]: options.cluster };
  return JSON.stringify({
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
      // RunInstances is authorized on every resource it touches: what it creates must carry the project's tags (and
      // the instance the agents' profile); what it uses is the project's group, and any image, subnet or key pair.
      {
        Sid: 'LaunchProjectAgents',
        Effect: 'Allow',
        Action: 'ec2:RunInstances',
        Resource: ec2Arn('instance'),
        Condition: { StringEquals: projectRequestTags, ArnLike: { 'ec2:InstanceProfile': profile } },
      },
      {
        Sid: 'LaunchTaggedVolumesAndSpotRequests',
        Effect: 'Allow',
        Action: 'ec2:RunInstances',
        Resource: [ec2Arn('volume'), ec2Arn('spot-instances-request')],
        Condition: { StringEquals: projectRequestTags },
      },
      {
        Sid: 'LaunchInProjectGroup',
        Effect: 'Allow',
        Action: 'ec2:RunInstances',
        Resource: ec2Arn('security-group'),
        Condition: { StringEquals: { [`aws:ResourceTag/${TAG.project}`]: options.project } },
      },
      {
        Sid: 'LaunchFrom',
        Effect: 'Allow',
        Action: 'ec2:RunInstances',
        Resource: [`arn:${partition}:ec2:*::image/*`, ec2Arn('subnet'), ec2Arn('network-interface'), ec2Arn('key-pair')],
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
        Resource: `arn:${partition}:ec2:*:*:instance/*`,
        Condition: {
          StringEquals: { [`aws:ResourceTag/${TAG.project}`]: options.project, [`aws:ResourceTag/${TAG.cluster}`]: options.cluster },
        },
      },
      { Sid: 'ReadAgentRole', Effect: 'Allow', Action: ['iam:GetRole', 'iam:GetRolePolicy'], Resource: role },
      {
        Sid: 'ReadAgentProfile',
        Effect: 'Allow',
        Action: 'iam:GetInstanceProfile',
        Resource: `arn:${partition}:iam::*:instance-profile/katapult/${agents}`,
      },
      {
        Sid: 'PassAgentRole',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: role,
        Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      },
      ...ecrPullStatements(options.region),
    ],
  });
}

/** The maestro's role and instance profile `katapult-<project>-maestro`, with `maestroPolicy` as its one inline policy. */
export function ensureMaestroInstanceProfile(
  client: IAMClient,
  owner: Owner,
  cluster: string,
  region: string | null | undefined,
): Promise<{ name: string; created: boolean }> {
  return ensureInstanceRole(client, owner, {
    name: maestroResourceName(owner.project),
    description: `Katapult maestro of ${owner.project}: launches and terminates its agents`,
    policyName: MAESTRO_POLICY,
    policyDocument: maestroPolicy({ project: owner.project, cluster, region }),
    tags: { [TAG.role]: MAESTRO_ROLE },
  });
}

function ec2(operation: string) {
  return { service: 'EC2' as const, operation };
}
