import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ListTagsForResourceCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  PutLifecyclePolicyCommand,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import { ExitCode, KatapultError, quietAwsSdk } from '@katapult/core';
import { OciRegistry, type RegistryAuth } from './registry.js';

export interface EcrOptions {
  repository: string;
  /** Tags put on a repository Katapult creates, e.g. katapult:project. */
  tags: Record<string, string>;
  /** Untagged images older than this are expired by a lifecycle rule. */
  untaggedDays?: number;
}

export interface EcrRegistry {
  registry: OciRegistry;
  auth: RegistryAuth;
  created: boolean;
}

/** The endpoint comes from the SDK's usual configuration (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_ECR, profile, region). */
export function ecrClient(options: { region?: string | null; profile?: string | null }): ECRClient {
  quietAwsSdk();
  return new ECRClient({ ...(options.region ? { region: options.region } : {}), ...(options.profile ? { profile: options.profile } : {}) });
}

/**
 * Makes an ECR repository ready to receive environment images: creates it when missing (tagged), keeps a
 * lifecycle rule that expires untagged images, and logs in with GetAuthorizationToken.
 */
export async function prepareEcr(client: ECRClient, options: EcrOptions): Promise<EcrRegistry> {
  return withAwsErrors('ECR', async () => {
    let created = false;
    try {
      await client.send(new DescribeRepositoriesCommand({ repositoryNames: [options.repository] }));
    } catch (error) {
      if (!(error instanceof RepositoryNotFoundException)) throw error;
      await client.send(
        new CreateRepositoryCommand({
          repositoryName: options.repository,
          imageTagMutability: 'IMMUTABLE',
          tags: Object.entries(options.tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
      created = true;
    }
    await client.send(
      new PutLifecyclePolicyCommand({
        repositoryName: options.repository,
        lifecyclePolicyText: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: 'expire untagged katapult images',
              selection: {
                tagStatus: 'untagged',
                countType: 'sinceImagePushed',
                countUnit: 'days',
                countNumber: options.untaggedDays ?? 1,
              },
              action: { type: 'expire' },
            },
          ],
        }),
      }),
    );
    const token = (await client.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
    if (!token?.authorizationToken || !token.proxyEndpoint) {
      throw new KatapultError('KP_AWS_ECR_LOGIN', 'ECR returned no authorization token', { exitCode: ExitCode.infrastructure });
    }
    const [username, password] = Buffer.from(token.authorizationToken, 'base64').toString('utf8').split(':', 2);
    const auth = { username: username ?? 'AWS', password: password ?? '' };
    const host = new URL(token.proxyEndpoint).host;
    return { registry: new OciRegistry(host, { insecure: false, auth }), auth, created };
  });
}

/** An ECR repository tagged with a project (`katapult:project`). */
export interface ProjectRepository {
  name: string;
  arn: string;
  project: string;
  createdAt: Date | null;
}

/**
 * The ECR repositories of the account and region tagged `katapult:project=<project>`: the ones that project's
 * `registry: ecr` launches created (`katapult/env`, `katapult/agent`, `katapult/maestro`), whoever pushes to them since.
 */
export async function listProjectRepositories(client: ECRClient, project: string): Promise<ProjectRepository[]> {
  return (await listTaggedRepositories(client)).filter((repository) => repository.project === project);
}

/** Katapult's ECR repositories (`katapult/...`) tagged `katapult:project`, whichever project. */
export async function listTaggedRepositories(client: ECRClient): Promise<ProjectRepository[]> {
  return withAwsErrors('ECR', async () => {
    const found: ProjectRepository[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(new DescribeRepositoriesCommand(nextToken ? { nextToken } : {}));
      for (const repository of page.repositories ?? []) {
        if (!repository.repositoryName || !repository.repositoryArn || !repository.repositoryName.startsWith('katapult/')) continue;
        const tags = (await client.send(new ListTagsForResourceCommand({ resourceArn: repository.repositoryArn }))).tags ?? [];
        const project = tags.find((tag) => tag.Key === 'katapult:project')?.Value;
        if (project)
          found.push({ name: repository.repositoryName, arn: repository.repositoryArn, project, createdAt: repository.createdAt ?? null });
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return found;
  });
}

/** Deletes a repository with every image in it; one already gone is nothing to do. */
export async function deleteRepository(client: ECRClient, name: string): Promise<void> {
  return withAwsErrors('ECR', async () => {
    try {
      await client.send(new DeleteRepositoryCommand({ repositoryName: name, force: true }));
    } catch (error) {
      if (!(error instanceof RepositoryNotFoundException)) throw error;
    }
  });
}

/** AWS errors become one line: what failed and what to do, never a stack of SDK internals. */
export async function withAwsErrors<T>(service: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof KatapultError) throw error;
    const name = (error as { name?: string }).name ?? 'Error';
    const message = error instanceof Error ? error.message : String(error);
    if (/AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken|CredentialsProviderError/.test(name)) {
      throw new KatapultError('KP_AWS_UNAUTHORIZED', `${service}: ${message}`, {
        hint: 'check the profile and that its user may use ECR (see README, AWS)',
        cause: error,
      });
    }
    throw new KatapultError('KP_AWS_ERROR', `${service}: ${name}: ${message}`, { cause: error });
  }
}
