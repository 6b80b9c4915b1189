import { DescribeInstancesCommand, DescribeVpcsCommand, EC2Client, RunInstancesCommand, DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { IAMClient, ServiceFailureException } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KatapultError } from '@katapult/core';
import { toKatapultError } from '../src/aws-errors.js';
import { downProject } from '../src/aws-down.js';
import { resolveImage } from '../src/resources/image.js';
import { ec2Error } from './aws-helpers.js';

const run = { service: 'EC2' as const, operation: 'RunInstances', instanceType: 'c5.4xlarge', region: 'eu-west-3', maxBid: 0.1 };

/** Each AWS error the provider meets becomes one line: a stable code, what AWS refused, what to do. */
describe('AWS errors, one line each', () => {
  const cases: [string, Error, string, number][] = [
    [
      'no capacity',
      ec2Error(
        'InsufficientInstanceCapacity',
        'We currently do not have sufficient c5.4xlarge capacity in the Availability Zone you requested (eu-west-3a).\nOur system will be working on provisioning additional capacity.',
      ),
      'KP_AWS_NO_CAPACITY EC2 RunInstances: AWS has no c5.4xlarge capacity in eu-west-3 right now (InsufficientInstanceCapacity) (try another type or region, or later; with eco: true, eco_fallback: true launches on-demand instead)',
      3,
    ],
    [
      'spot price too low',
      ec2Error(
        'SpotMaxPriceTooLow',
        'Your Spot request price of 0.1 is lower than the minimum required Spot request fulfillment price of 0.2684.',
      ),
      'KP_AWS_SPOT_PRICE EC2 RunInstances: max_bid 0.1 $/h is below the current spot price of c5.4xlarge in eu-west-3 (SpotMaxPriceTooLow) (raise instances[].max_bid, or remove it to pay the current spot price)',
      3,
    ],
    [
      'unauthorized operation',
      ec2Error(
        'UnauthorizedOperation',
        'You are not authorized to perform this operation. User: arn:aws:iam::1:user/x is not authorized to perform: ec2:RunInstances. Encoded authorization failure message: AbCdEf0123456789\nmore',
      ),
      "KP_AWS_UNAUTHORIZED EC2 RunInstances: the credentials may not use ec2:RunInstances (UnauthorizedOperation) (allow ec2:RunInstances to the profile's user or role (see README, AWS))",
      3,
    ],
    [
      'auth failure',
      ec2Error('AuthFailure', 'AWS was not able to validate the provided access credentials'),
      'KP_AWS_UNAUTHORIZED EC2 RunInstances: AWS refused the credentials (AuthFailure) (check the profile (config `profile` or AWS_PROFILE) and that its keys are valid and not expired)',
      3,
    ],
    [
      "throttled after the SDK's retries",
      ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 3),
      'KP_AWS_THROTTLED EC2 RunInstances: AWS is throttling requests (still after 3 attempts) (RequestLimitExceeded) (wait a minute and run it again; AWS_MAX_ATTEMPTS raises the number of retries)',
      3,
    ],
    [
      'a quota',
      ec2Error('VcpuLimitExceeded', 'You have requested more vCPU capacity than your current vCPU limit of 32 allows.'),
      'KP_AWS_QUOTA EC2 RunInstances: an AWS quota is reached (VcpuLimitExceeded): You have requested more vCPU capacity than your current vCPU limit of 32 allows. (lower instances[].number or ask AWS for a higher quota (Service Quotas, EC2))',
      3,
    ],
    [
      'an unknown AMI',
      ec2Error('InvalidAMIID.NotFound', "The image id '[ami-0bad]' does not exist"),
      "KP_AWS_IMAGE_NOT_FOUND EC2 RunInstances: The image id '[ami-0bad]' does not exist (InvalidAMIID.NotFound) (instances[].img_id must be an AMI of this region that the account can use; leave it out for the latest Debian 12)",
      2,
    ],
    [
      'no credentials at all',
      Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      'KP_AWS_NO_CREDENTIALS EC2 RunInstances: no AWS credentials found (set `profile` in the config or AWS_PROFILE, or run `aws configure`)',
      3,
    ],
    [
      'anything else',
      ec2Error('InternalError', 'An internal error has occurred'),
      'KP_AWS_ERROR EC2 RunInstances: InternalError: An internal error has occurred',
      3,
    ],
  ];

  for (const [what, error, line, exitCode] of cases) {
    it(what, () => {
      const mapped = toKatapultError(error, run);
      expect(mapped.toLine()).toBe(line);
      expect(mapped.toLine()).not.toContain('\n');
      expect(mapped.exitCode).toBe(exitCode);
      expect(mapped.cause).toBe(error);
    });
  }

  it('IAM throttling (Throttling) and IAM errors the same way', () => {
    const throttled = Object.assign(new ServiceFailureException({ message: 'Rate exceeded', $metadata: { attempts: 3 } }), {
      name: 'Throttling',
    });
    expect(toKatapultError(throttled, { service: 'IAM', operation: 'CreateRole' }).toLine()).toBe(
      'KP_AWS_THROTTLED IAM CreateRole: AWS is throttling requests (still after 3 attempts) (Throttling) (wait a minute and run it again; AWS_MAX_ATTEMPTS raises the number of retries)',
    );
  });

  it('a KatapultError passes through unchanged', () => {
    const own = new KatapultError('KP_AWS_REGION', 'x');
    expect(toKatapultError(own, run)).toBe(own);
  });
});

describe("AWS errors through the provider's calls", () => {
  const ec2 = mockClient(EC2Client);
  const iam = mockClient(IAMClient);
  const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
  const clients = () => ({
    ec2: new EC2Client({ region: 'eu-west-3', credentials }),
    iam: new IAMClient({ region: 'eu-west-3', credentials }),
  });
  beforeEach(() => {
    ec2.reset();
    iam.reset();
  });

  it('down: unauthorized DescribeInstances is one line, and nothing is deleted', async () => {
    ec2.on(DescribeInstancesCommand).rejects(ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.'));
    const error = (await downProject(clients(), 'demo').catch((caught: unknown) => caught)) as KatapultError;
    expect(error.toLine()).toBe(
      "KP_AWS_UNAUTHORIZED EC2 DescribeInstances: the credentials may not use ec2:DescribeInstances (UnauthorizedOperation) (allow ec2:DescribeInstances to the profile's user or role (see README, AWS))",
    );
    expect(ec2.calls()).toHaveLength(1);
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
    expect(ec2.commandCalls(DescribeVpcsCommand)).toHaveLength(0);
  });

  it('an img_id EC2 does not know is a config error (exit 2)', async () => {
    ec2.on(DescribeImagesCommand).rejects(ec2Error('InvalidAMIID.Malformed', 'Invalid id: "ami-x"'));
    await expect(resolveImage(clients().ec2, 'ami-x', 't3.micro')).rejects.toMatchObject({ code: 'KP_AWS_IMAGE_NOT_FOUND', exitCode: 2 });
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    await expect(resolveImage(clients().ec2, 'ami-0gone', 't3.micro')).rejects.toMatchObject({
      code: 'KP_AWS_IMAGE_NOT_FOUND',
      message: 'EC2 DescribeImages: the AMI ami-0gone was not found',
    });
  });
});
