import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  PutLifecyclePolicyCommand,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { prepareEcr } from '../src/ecr.js';

/** AWS cannot be reached from here: the ECR calls are checked against aws-sdk-client-mock. */
const ecr = mockClient(ECRClient);
const client = new ECRClient({ region: 'eu-west-3', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
const token = Buffer.from('AWS:secret-password').toString('base64');

describe('ECR registry', () => {
  beforeEach(() => {
    ecr.reset();
    ecr.on(GetAuthorizationTokenCommand).resolves({
      authorizationData: [{ authorizationToken: token, proxyEndpoint: 'https://123456789012.dkr.ecr.eu-west-3.amazonaws.com' }],
    });
  });

  it('creates a missing repository with tags, sets the untagged-expiry rule, and logs in', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(new RepositoryNotFoundException({ message: 'not found', $metadata: {} }));
    const ready = await prepareEcr(client, { repository: 'katapult/env', tags: { 'katapult:project': 'demo' } });
    expect(ready.created).toBe(true);
    expect(ready.registry.host).toBe('123456789012.dkr.ecr.eu-west-3.amazonaws.com');
    expect(ready.registry.baseUrl).toBe('https://123456789012.dkr.ecr.eu-west-3.amazonaws.com');
    expect(ready.auth).toEqual({ username: 'AWS', password: 'secret-password' });
    expect(ecr.calls().map((call) => call.args[0].constructor.name)).toEqual([
      'DescribeRepositoriesCommand',
      'CreateRepositoryCommand',
      'PutLifecyclePolicyCommand',
      'GetAuthorizationTokenCommand',
    ]);
    expect(ecr.commandCalls(CreateRepositoryCommand)[0]!.args[0].input).toMatchObject({
      repositoryName: 'katapult/env',
      tags: [{ Key: 'katapult:project', Value: 'demo' }],
    });
    const policy = JSON.parse(ecr.commandCalls(PutLifecyclePolicyCommand)[0]!.args[0].input.lifecyclePolicyText!);
    expect(policy.rules[0]).toMatchObject({ selection: { tagStatus: 'untagged', countNumber: 1 }, action: { type: 'expire' } });
  });

  it('reuses an existing repository', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ repositoryName: 'katapult/env' }] });
    const ready = await prepareEcr(client, { repository: 'katapult/env', tags: {} });
    expect(ready.created).toBe(false);
    expect(ecr.commandCalls(CreateRepositoryCommand)).toHaveLength(0);
  });

  it('turns an access error into one clear line', async () => {
    const denied = Object.assign(new Error('User: arn:aws:iam::1:user/x is not authorized to perform: ecr:DescribeRepositories'), {
      name: 'AccessDeniedException',
    });
    ecr.on(DescribeRepositoriesCommand).rejects(denied);
    await expect(prepareEcr(client, { repository: 'katapult/env', tags: {} })).rejects.toMatchObject({
      code: 'KP_AWS_UNAUTHORIZED',
      message: 'ECR: User: arn:aws:iam::1:user/x is not authorized to perform: ecr:DescribeRepositories',
    });
  });
});
