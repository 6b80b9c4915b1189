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
import { KatapultError } from '@katapult/core';
import { awsCall, errorName, iamOperation as iam, toKatapultError } from '../aws-errors.js';
import { TAG, ownerTags, resourceName, tagValue, type Owner } from '../tags.js';

export const ECR_PULL_POLICY = 'katapult-ecr-pull';

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
export async function ensureInstanceProfile(
  client: IAMClient,
  owner: Owner,
  region: string | null | undefined,
): Promise<{ name: string; created: boolean }> {
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
export async function ensureInstanceRole(
  client: IAMClient,
  owner: Owner,
  spec: InstanceRoleSpec,
): Promise<{ name: string; created: boolean }> {
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
    await awsCall(iam('AddRoleToInstanceProfile'), () =>
      client.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name })),
    );
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
    if (isNoSuchEntity(error) || NOT_READABLE.has(errorName(error)) || error instanceof SyntaxError || error instanceof URIError)
      return false;
    throw toKatapultError(error, iam('GetRolePolicy'));
  }
}
