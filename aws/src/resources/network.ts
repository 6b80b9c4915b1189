import {
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInternetGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  ModifySubnetAttributeCommand,
  type EC2Client,
  type Subnet,
} from '@aws-sdk/client-ec2';
import { KatapultError } from '@katapult/core';
import { awsCall, ec2Operation as ec2, errorName, toKatapultError } from '../aws-errors.js';
import { TAG, ownerTags, resourceName, tagFilter, tagSpecifications, tagValue, type Owner } from '../tags.js';

export interface Network {
  vpcId: string;
  /** The first subnet by zone: where the maestro goes, and the agents first. */
  subnetId: string;
  /** Every subnet instances may go to, one per zone, in zone order: a zone without capacity passes to the next. */
  subnets: ZoneSubnet[];
  /** The VPC is the project's own (tagged, deleted by `down`), made because the region has no default VPC. */
  created: boolean;
}

/** A subnet instances may go to, and its availability zone. */
export interface ZoneSubnet {
  subnetId: string;
  zone: string | undefined;
}

const PROJECT_CIDR = '10.87.0.0/16';
const PROJECT_SUBNET_CIDR = '10.87.0.0/20';

/**
 * The region's default VPC and its first default subnet (by zone). With no default VPC, the project's own network:
 * a VPC, an internet gateway routed from the main route table and a subnet giving public addresses (agents reach
 * NATS and the registry out through it), each tagged and found again by its tags, so a half-made one is completed.
 */
export async function resolveNetwork(client: EC2Client, owner: Owner): Promise<Network> {
  const defaults = await awsCall(ec2('DescribeVpcs'), () =>
    client.send(new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] })),
  );
  const defaultVpc = defaults.Vpcs?.[0]?.VpcId;
  if (defaultVpc) {
    const subnets = await awsCall(ec2('DescribeSubnets'), () =>
      client.send(
        new DescribeSubnetsCommand({
          Filters: [
            { Name: 'vpc-id', Values: [defaultVpc] },
            { Name: 'default-for-az', Values: ['true'] },
          ],
        }),
      ),
    );
    const zones = byZone(subnets.Subnets);
    const subnet = zones[0]?.subnetId;
    if (!subnet) {
      throw new KatapultError('KP_AWS_NO_SUBNET', `the default VPC ${defaultVpc} has no default subnet`, {
        hint: 'create one (aws ec2 create-default-subnet --availability-zone ...)',
      });
    }
    return { vpcId: defaultVpc, subnetId: subnet, subnets: zones, created: false };
  }
  const tags = (name: string) => ownerTags(owner, { Name: name });
  const name = resourceName(owner.project);
  const tagged = await awsCall(ec2('DescribeVpcs'), () =>
    client.send(new DescribeVpcsCommand({ Filters: [tagFilter(TAG.project, owner.project)] })),
  );
  const vpcId =
    tagged.Vpcs?.[0]?.VpcId ??
    (
      await awsCall(ec2('CreateVpc'), () =>
        client.send(new CreateVpcCommand({ CidrBlock: PROJECT_CIDR, TagSpecifications: tagSpecifications(['vpc'], tags(name)) })),
      )
    ).Vpc?.VpcId;
  if (!vpcId) throw new KatapultError('KP_AWS_ERROR', 'EC2 CreateVpc returned no VPC id');
  const byVpc = [{ Name: 'attachment.vpc-id', Values: [vpcId] }];
  let gatewayId = (
    await awsCall(ec2('DescribeInternetGateways'), () => client.send(new DescribeInternetGatewaysCommand({ Filters: byVpc })))
  ).InternetGateways?.[0]?.InternetGatewayId;
  if (!gatewayId) {
    const created = await awsCall(ec2('CreateInternetGateway'), () =>
      client.send(new CreateInternetGatewayCommand({ TagSpecifications: tagSpecifications(['internet-gateway'], tags(name)) })),
    );
    gatewayId = created.InternetGateway?.InternetGatewayId ?? '';
    await awsCall(ec2('AttachInternetGateway'), () =>
      client.send(new AttachInternetGatewayCommand({ InternetGatewayId: gatewayId, VpcId: vpcId })),
    );
  }
  const tables = await awsCall(ec2('DescribeRouteTables'), () =>
    client.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'association.main', Values: ['true'] },
        ],
      }),
    ),
  );
  const main = tables.RouteTables?.[0];
  if (main?.RouteTableId && !main.Routes?.some((route) => route.DestinationCidrBlock === '0.0.0.0/0')) {
    await awsCall(ec2('CreateRoute'), () =>
      client.send(new CreateRouteCommand({ RouteTableId: main.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: gatewayId })),
    );
  }
  const subnets = await awsCall(ec2('DescribeSubnets'), () =>
    client.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })),
  );
  const own = byZone(subnets.Subnets);
  let subnetId = own[0]?.subnetId;
  if (!subnetId) {
    const created = await awsCall(ec2('CreateSubnet'), () =>
      client.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: PROJECT_SUBNET_CIDR,
          TagSpecifications: tagSpecifications(['subnet'], tags(name)),
        }),
      ),
    );
    subnetId = created.Subnet?.SubnetId ?? '';
    await awsCall(ec2('ModifySubnetAttribute'), () =>
      client.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } })),
    );
  }
  return { vpcId, subnetId, subnets: own.length > 0 ? own : [{ subnetId, zone: undefined }], created: true };
}

/** One subnet per zone (the first by id when a zone has several), in zone order. */
function byZone(subnets: Subnet[] | undefined): ZoneSubnet[] {
  const sorted = [...(subnets ?? [])]
    .filter((subnet) => subnet.SubnetId)
    .sort((a, b) => `${a.AvailabilityZone}${a.SubnetId}`.localeCompare(`${b.AvailabilityZone}${b.SubnetId}`));
  const zones: ZoneSubnet[] = [];
  for (const subnet of sorted) {
    if (subnet.AvailabilityZone !== undefined && zones.some((seen) => seen.zone === subnet.AvailabilityZone)) continue;
    zones.push({ subnetId: subnet.SubnetId!, zone: subnet.AvailabilityZone });
  }
  return zones;
}

/**
 * The project's security group in this VPC, created when missing. It has no inbound rule: agents connect out to
 * NATS and the registry, and nothing connects to them. `sshCidr` (e.g. your address/32) opens port 22 to that
 * range only, for a key pair's SSH; nothing is ever opened to 0.0.0.0/0 by default. Outbound is AWS's default (all).
 */
export async function ensureSecurityGroup(client: EC2Client, owner: Owner, vpcId: string, sshCidr?: string | null): Promise<string> {
  const name = resourceName(owner.project);
  const found = await awsCall(ec2('DescribeSecurityGroups'), () =>
    client.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, tagFilter(TAG.project, owner.project)] }),
    ),
  );
  // The maestro's group carries the project's tag too.
  let groupId = found.SecurityGroups?.find((group) => tagValue(group.Tags, TAG.role) !== 'maestro')?.GroupId;
  if (!groupId) {
    const created = await awsCall(ec2('CreateSecurityGroup'), () =>
      client.send(
        new CreateSecurityGroupCommand({
          GroupName: name,
          Description: `Katapult agents of ${owner.project}: no inbound traffic, agents connect out`,
          VpcId: vpcId,
          TagSpecifications: tagSpecifications(['security-group'], ownerTags(owner, { Name: name })),
        }),
      ),
    );
    groupId = created.GroupId ?? '';
  }
  if (sshCidr) {
    try {
      await client.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: groupId,
          IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: sshCidr, Description: 'katapult: SSH' }] }],
        }),
      );
    } catch (error) {
      if (errorName(error) !== 'InvalidPermission.Duplicate') throw toKatapultError(error, ec2('AuthorizeSecurityGroupIngress'));
    }
  }
  return groupId;
}
