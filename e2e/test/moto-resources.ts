import {
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { DescribeRepositoriesCommand, ECRClient, ListTagsForResourceCommand } from '@aws-sdk/client-ecr';
import {
  IAMClient,
  GetInstanceProfileCommand,
  ListInstanceProfilesCommand,
  ListRolesCommand,
  ListRoleTagsCommand,
} from '@aws-sdk/client-iam';

export const TEST_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

export interface MotoClients {
  ec2: EC2Client;
  iam: IAMClient;
  ecr: ECRClient;
}

export function motoClients(url: string, region: string): MotoClients {
  const config = { endpoint: url, region, credentials: TEST_CREDENTIALS };
  return { ec2: new EC2Client(config), iam: new IAMClient(config), ecr: new ECRClient(config) };
}

const byProject = (project: string) => [{ Name: 'tag:katapult:project', Values: [project] }];

/** The project's instances in these states (default: every state but terminated). */
export async function projectInstances(
  clients: MotoClients,
  project: string,
  states = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'],
): Promise<Instance[]> {
  const found = await clients.ec2.send(
    new DescribeInstancesCommand({ Filters: [...byProject(project), { Name: 'instance-state-name', Values: states }] }),
  );
  return (found.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? []);
}

/** What is left of a project, by resource type, as moto's own API lists it. */
export async function countProjectResources(clients: MotoClients, project: string): Promise<Record<string, number>> {
  const { ec2, iam, ecr } = clients;
  const filters = byProject(project);
  const roles = (await iam.send(new ListRolesCommand({}))).Roles ?? [];
  let taggedRoles = 0;
  for (const role of roles) {
    const tags = (await iam.send(new ListRoleTagsCommand({ RoleName: role.RoleName }))).Tags ?? [];
    if (tags.some((tag) => tag.Key === 'katapult:project' && tag.Value === project)) taggedRoles++;
  }
  let profiles = 0;
  for (const profile of (await iam.send(new ListInstanceProfilesCommand({}))).InstanceProfiles ?? []) {
    // moto 5.1 has no ListInstanceProfileTags; GetInstanceProfile gives the tags.
    const tags =
      (await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: profile.InstanceProfileName }))).InstanceProfile?.Tags ?? [];
    if (tags.some((tag) => tag.Key === 'katapult:project' && tag.Value === project)) profiles++;
  }
  let repositories = 0;
  for (const repository of (await ecr.send(new DescribeRepositoriesCommand({}))).repositories ?? []) {
    const tags = (await ecr.send(new ListTagsForResourceCommand({ resourceArn: repository.repositoryArn }))).tags ?? [];
    if (tags.some((tag) => tag.Key === 'katapult:project' && tag.Value === project)) repositories++;
  }
  return {
    instances: (await projectInstances(clients, project)).length,
    'security groups': (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: filters }))).SecurityGroups?.length ?? 0,
    'IAM roles': taggedRoles,
    'instance profiles': profiles,
    'key pairs': (await ec2.send(new DescribeKeyPairsCommand({ Filters: filters }))).KeyPairs?.length ?? 0,
    'ECR repositories': repositories,
    'internet gateways': (await ec2.send(new DescribeInternetGatewaysCommand({ Filters: filters }))).InternetGateways?.length ?? 0,
    subnets: (await ec2.send(new DescribeSubnetsCommand({ Filters: filters }))).Subnets?.length ?? 0,
    VPCs: (await ec2.send(new DescribeVpcsCommand({ Filters: filters }))).Vpcs?.length ?? 0,
  };
}

export const NOTHING_LEFT = {
  instances: 0,
  'security groups': 0,
  'IAM roles': 0,
  'instance profiles': 0,
  'key pairs': 0,
  'ECR repositories': 0,
  'internet gateways': 0,
  subnets: 0,
  VPCs: 0,
};
