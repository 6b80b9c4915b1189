import { constants as fsConstants } from 'node:fs';
import { access, chmod, writeFile } from 'node:fs/promises';
import {
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateKeyPairCommand,
  CreateRouteCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  DescribeInternetGatewaysCommand,
  DescribeKeyPairsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  ModifySubnetAttributeCommand,
  type EC2Client,
  type Image,
  type Subnet,
} from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  PutRolePolicyCommand,
  type IAMClient,
  type Tag as IamTag,
} from '@aws-sdk/client-iam';
import { ExitCode, KatapultError } from '@katapult/core';
import { awsCall, errorName, toKatapultError } from './aws-errors.js';
import { TAG, ownerTags, resourceName, tagFilter, tagSpecifications, tagValue, type Owner } from './tags.js';

export interface Network {
  vpcId: string;
  /** The first subnet by zone: where the maestro goes, and the agents first. */
  subnetId: string;
  /** Every subnet instances may go to, one per zone, in zone order: a zone without capacity passes to the next. */
  subnets: ZoneSubnet[];
  /** The VPC is the project's own (tagged, deleted by `down`), made because the region has no default VPC. */
  created: boolean;
}

/** Owner of the Debian cloud team's AMIs (debian-12-amd64-*, debian-12-arm64-*). */
export interface ZoneSubnet {
  subnetId: string;
  zone: string | undefined;
}

export const DEBIAN_AMI_OWNER = '136693071363';
const PROJECT_CIDR = '10.87.0.0/16';
const PROJECT_SUBNET_CIDR = '10.87.0.0/20';
export const ECR_PULL_POLICY = 'katapult-ecr-pull';

const ec2 = (operation: string) => ({ service: 'EC2' as const, operation });
const iam = (operation: string) => ({ service: 'IAM' as const, operation });

/**
 * The region's default VPC and its first default subnet (by zone). With no default VPC, the project's own network:
 * a VPC, an internet gateway routed from the main route table and a subnet giving public addresses (agents reach
 * NATS and the registry out through it), each tagged and found again by its tags, so a half-made one is completed.
 */
export async function resolveNetwork(client: EC2Client, owner: Owner): Promise<Network> {
  const defaults = await awsCall(ec2('DescribeVpcs'), () => client.send(new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] })));
  const defaultVpc = defaults.Vpcs?.[0]?.VpcId;
  if (defaultVpc) {
    const subnets = await awsCall(ec2('DescribeSubnets'), () =>
      client.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [defaultVpc] }, { Name: 'default-for-az', Values: ['true'] }] })),
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
  const tagged = await awsCall(ec2('DescribeVpcs'), () => client.send(new DescribeVpcsCommand({ Filters: [tagFilter(TAG.project, owner.project)] })));
  const vpcId =
    tagged.Vpcs?.[0]?.VpcId ??
    (await awsCall(ec2('CreateVpc'), () => client.send(new CreateVpcCommand({ CidrBlock: PROJECT_CIDR, TagSpecifications: tagSpecifications(['vpc'], tags(name)) }))))
      .Vpc?.VpcId;
  if (!vpcId) throw new KatapultError('KP_AWS_ERROR', 'EC2 CreateVpc returned no VPC id');
  const byVpc = [{ Name: 'attachment.vpc-id', Values: [vpcId] }];
  let gatewayId = (await awsCall(ec2('DescribeInternetGateways'), () => client.send(new DescribeInternetGatewaysCommand({ Filters: byVpc })))).InternetGateways?.[0]
    ?.InternetGatewayId;
  if (!gatewayId) {
    const created = await awsCall(ec2('CreateInternetGateway'), () =>
      client.send(new CreateInternetGatewayCommand({ TagSpecifications: tagSpecifications(['internet-gateway'], tags(name)) })),
    );
    gatewayId = created.InternetGateway?.InternetGatewayId ?? '';
    await awsCall(ec2('AttachInternetGateway'), () => client.send(new AttachInternetGatewayCommand({ InternetGatewayId: gatewayId, VpcId: vpcId })));
  }
  const tables = await awsCall(ec2('DescribeRouteTables'), () =>
    client.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'association.main', Values: ['true'] }] })),
  );
  const main = tables.RouteTables?.[0];
  if (main?.RouteTableId && !main.Routes?.some((route) => route.DestinationCidrBlock === '0.0.0.0/0')) {
    await awsCall(ec2('CreateRoute'), () =>
      client.send(new CreateRouteCommand({ RouteTableId: main.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: gatewayId })),
    );
  }
  const subnets = await awsCall(ec2('DescribeSubnets'), () => client.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })));
  const own = byZone(subnets.Subnets);
  let subnetId = own[0]?.subnetId;
  if (!subnetId) {
    const created = await awsCall(ec2('CreateSubnet'), () =>
      client.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: PROJECT_SUBNET_CIDR, TagSpecifications: tagSpecifications(['subnet'], tags(name)) })),
    );
    subnetId = created.Subnet?.SubnetId ?? '';
    await awsCall(ec2('ModifySubnetAttribute'), () => client.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } })));
  }
  return { vpcId, subnetId, subnets: own.length > 0 ? own : [{ subnetId, zone: undefined }], created: true };
}

/** One subnet per zone (the first by id when a zone has several), in zone order. */
function byZone(subnets: Subnet[] | undefined): ZoneSubnet[] {
  const sorted = [...(subnets ?? [])].filter((subnet) => subnet.SubnetId).sort((a, b) => `${a.AvailabilityZone}${a.SubnetId}`.localeCompare(`${b.AvailabilityZone}${b.SubnetId}`));
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
    client.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, tagFilter(TAG.project, owner.project)] })),
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

/** The instance role's trust: EC2 may take it, nothing else. */
export const EC2_TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** The ARN partition of a region: `aws-cn` for China, `aws-us-gov` for GovCloud, else `aws`. */
export function awsPartition(region: string | null | undefined): string {
  return region?.startsWith('cn-') ? 'aws-cn' : region?.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
}

/** The statements of `ecrPullPolicy`: an ECR login token, and reading images of the `katapult/*` repositories. */
export function ecrPullStatements(region: string | null | undefined): object[] {
  return [
    { Sid: 'EcrLogin', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
    {
      Sid: 'EcrPullKatapultImages',
      Effect: 'Allow',
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
      Resource: `arn:${awsPartition(region)}:ecr:*:*:repository/katapult/*`,
    },
  ];
}

/** What the agent needs and no more: an ECR login token, and reading images of the `katapult/*` repositories. */
export function ecrPullPolicy(region: string | null | undefined): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: ecrPullStatements(region) });
}

const isNoSuchEntity = (error: unknown) => errorName(error) === 'NoSuchEntity' || errorName(error) === 'NoSuchEntityException';

function iamTags(owner: Owner, extra: Record<string, string> = {}): IamTag[] {
  return Object.entries(ownerTags(owner, extra)).map(([Key, Value]) => ({ Key, Value }));
}

function checkOwned(kind: string, name: string, tags: IamTag[] | undefined, project: string): void {
  if (tagValue(tags, TAG.project) !== project) {
    throw new KatapultError('KP_AWS_NAME_TAKEN', `the IAM ${kind} ${name} exists but is not Katapult's for project ${project}`, {
      hint: `rename the project, or delete or tag that ${kind} (${TAG.project}=${project}) if it is`,
    });
  }
}

/**
 * The project's instance role and profile (both `katapult-<project>`, path /katapult/), created when missing: the
 * role trusts ec2.amazonaws.com only, and its one inline policy allows pulling Katapult's images from ECR.
 * A role or profile of that name that is not tagged for the project is an error, never taken over.
 */
export async function ensureInstanceProfile(client: IAMClient, owner: Owner, region: string | null | undefined): Promise<{ name: string; created: boolean }> {
  return ensureInstanceRole(client, owner, {
    name: resourceName(owner.project),
    description: `Katapult agents of ${owner.project}: pull images from ECR`,
    policyName: ECR_PULL_POLICY,
    policyDocument: ecrPullPolicy(region),
  });
}

export interface InstanceRoleSpec {
  /** The role's and the instance profile's name. */
  name: string;
  description: string;
  policyName: string;
  policyDocument: string;
  /** Tags beside the owner's. */
  tags?: Record<string, string>;
}

/**
 * A role trusting ec2.amazonaws.com only, with one inline policy, and an instance profile of the same name holding it
 * (path /katapult/), created when missing. The policy is written only when it differs from the one in place, so
 * a caller allowed to read the role but not to change it (the maestro's coordinator) gets through.
 */
export async function ensureInstanceRole(client: IAMClient, owner: Owner, spec: InstanceRoleSpec): Promise<{ name: string; created: boolean }> {
  const { name } = spec;
  let created = false;
  try {
    const role = await client.send(new GetRoleCommand({ RoleName: name }));
    checkOwned('role', name, role.Role?.Tags, owner.project);
  } catch (error) {
    if (!isNoSuchEntity(error)) throw toKatapultError(error, iam('GetRole'));
    await awsCall(iam('CreateRole'), () =>
      client.send(
        new CreateRoleCommand({
          RoleName: name,
          Path: '/katapult/',
          AssumeRolePolicyDocument: EC2_TRUST_POLICY,
          Description: spec.description,
          Tags: iamTags(owner, spec.tags),
        }),
      ),
    );
    created = true;
  }
  if (created || !(await hasPolicy(client, name, spec.policyName, spec.policyDocument))) {
    await awsCall(iam('PutRolePolicy'), () =>
      client.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: spec.policyName, PolicyDocument: spec.policyDocument })),
    );
  }
  let roles: string[] = [];
  try {
    const profile = await client.send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
    checkOwned('instance profile', name, profile.InstanceProfile?.Tags, owner.project);
    roles = (profile.InstanceProfile?.Roles ?? []).map((role) => role.RoleName ?? '');
  } catch (error) {
    if (!isNoSuchEntity(error)) throw toKatapultError(error, iam('GetInstanceProfile'));
    await awsCall(iam('CreateInstanceProfile'), () =>
      client.send(new CreateInstanceProfileCommand({ InstanceProfileName: name, Path: '/katapult/', Tags: iamTags(owner, spec.tags) })),
    );
    created = true;
  }
  if (!roles.includes(name)) {
    await awsCall(iam('AddRoleToInstanceProfile'), () => client.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name })));
    created = true;
  }
  return { name, created };
}

const NOT_READABLE = new Set(['AccessDenied', 'AccessDeniedException']);

/** Whether the role's inline policy is this document already (IAM returns it URL-encoded, maybe re-spaced). */
async function hasPolicy(client: IAMClient, role: string, policyName: string, document: string): Promise<boolean> {
  try {
    const found = await client.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: policyName }));
    if (!found?.PolicyDocument) return false;
    return JSON.stringify(JSON.parse(decodeURIComponent(found.PolicyDocument))) === JSON.stringify(JSON.parse(document));
  } catch (error) {
    // Credentials that may write the policy but not read it write it, as before GetRolePolicy was asked.
    if (isNoSuchEntity(error) || NOT_READABLE.has(errorName(error)) || error instanceof SyntaxError || error instanceof URIError) return false;
    throw toKatapultError(error, iam('GetRolePolicy'));
  }
}

export interface KeyPairFiles {
  exists(path: string): Promise<boolean>;
  /** Writes a new file only (never over one), mode 0600. */
  writePrivate(path: string, content: string): Promise<void>;
}

export const nodeKeyPairFiles: KeyPairFiles = {
  exists: (path) => access(path, fsConstants.F_OK).then(() => true, () => false),
  async writePrivate(path, content) {
    await writeFile(path, content, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
  },
};

/**
 * An optional key pair for SSH (`katapult-<project>`, ed25519), tagged. Its private key exists only in the file
 * written when it is created, mode 0600; a key pair whose file is gone is an error (AWS cannot give the key again).
 */
export async function ensureKeyPair(client: EC2Client, owner: Owner, file: string, files: KeyPairFiles = nodeKeyPairFiles): Promise<string> {
  const name = resourceName(owner.project);
  const found = await awsCall(ec2('DescribeKeyPairs'), () => client.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'key-name', Values: [name] }] })));
  if (found.KeyPairs?.length) {
    if (!(await files.exists(file))) {
      throw new KatapultError('KP_AWS_KEY_FILE', `the key pair ${name} exists but its private key file ${file} does not`, {
        hint: 'point to the file written when it was created, or remove the key pair (katapult down) to make a new one',
      });
    }
    return name;
  }
  if (await files.exists(file)) {
    throw new KatapultError('KP_AWS_KEY_FILE', `${file} exists: it would be overwritten by the new key pair ${name}'s private key`, {
      hint: 'move it away or name another file',
    });
  }
  const created = await awsCall(ec2('CreateKeyPair'), () =>
    client.send(
      new CreateKeyPairCommand({ KeyName: name, KeyType: 'ed25519', KeyFormat: 'pem', TagSpecifications: tagSpecifications(['key-pair'], ownerTags(owner, { Name: name })) }),
    ),
  );
  await files.writePrivate(file, created.KeyMaterial ?? '');
  return name;
}

export interface ResolvedImage {
  imageId: string;
  rootDeviceName: string | undefined;
}

/** What EC2 says of an instance type: its architectures (for the AMI) and its vCPUs (for `cpus` and `explode`). */
export interface InstanceTypeInfo {
  architectures: string[];
  /** Undefined when EC2 does not say. */
  vcpus: number | undefined;
}

export async function describeInstanceType(client: EC2Client, instanceType: string): Promise<InstanceTypeInfo> {
  const types = await awsCall({ ...ec2('DescribeInstanceTypes'), instanceType }, () =>
    client.send(new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as never] })),
  );
  const found = types.InstanceTypes?.[0];
  return { architectures: found?.ProcessorInfo?.SupportedArchitectures ?? [], vcpus: found?.VCpuInfo?.DefaultVCpus };
}

/**
 * `img_id` as given (checked to exist, for its root device name), or the latest Debian 12 AMI for the instance
 * type's architecture (arm64 for Graviton types, else x86_64). `key` is the config key errors tell to set.
 */
export async function resolveImage(
  client: EC2Client,
  imgId: string | null,
  instanceType: string,
  typeInfo?: InstanceTypeInfo,
  key = 'instances[].img_id',
): Promise<ResolvedImage> {
  if (imgId) {
    // EC2 answers an unknown id with InvalidAMIID.NotFound rather than an empty list.
    const found = await awsCall({ ...ec2('DescribeImages'), instanceType, imageKey: key }, () => client.send(new DescribeImagesCommand({ ImageIds: [imgId] })));
    const image = found.Images?.[0];
    if (!image?.ImageId) {
      throw new KatapultError('KP_AWS_IMAGE_NOT_FOUND', `EC2 DescribeImages: the AMI ${imgId} was not found`, {
        hint: `${key} must be an AMI of this region that the account can use; leave it out for the latest Debian 12`,
        exitCode: ExitCode.badInput,
      });
    }
    return { imageId: image.ImageId, rootDeviceName: image.RootDeviceName };
  }
  const { architectures } = typeInfo ?? (await describeInstanceType(client, instanceType));
  const arm = architectures.includes('arm64') && !architectures.includes('x86_64');
  const images = await awsCall(ec2('DescribeImages'), () =>
    client.send(
      new DescribeImagesCommand({
        Owners: [DEBIAN_AMI_OWNER],
        Filters: [
          { Name: 'name', Values: [`debian-12-${arm ? 'arm64' : 'amd64'}-*`] },
          { Name: 'architecture', Values: [arm ? 'arm64' : 'x86_64'] },
          { Name: 'state', Values: ['available'] },
          { Name: 'root-device-type', Values: ['ebs'] },
        ],
      }),
    ),
  );
  const latest = [...(images.Images ?? [])].sort((a: Image, b: Image) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
  if (!latest?.ImageId) {
    throw new KatapultError('KP_AWS_IMAGE_NOT_FOUND', `no Debian 12 ${arm ? 'arm64' : 'amd64'} AMI found in this region`, {
      hint: `set ${key} to an AMI of this region`,
      exitCode: ExitCode.infrastructure,
    });
  }
  return { imageId: latest.ImageId, rootDeviceName: latest.RootDeviceName };
}
