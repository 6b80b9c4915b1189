import { ExitCode, KatapultError } from '@katapult/core';

/** What was being done when AWS answered with an error, to name it in the one line the user sees. */
export interface AwsCallContext {
  service: 'EC2' | 'IAM';
  operation: string;
  instanceType?: string;
  region?: string;
  maxBid?: number | null;
  /** The config key that chose the AMI, named in an image error; default `instances[].img_id`. */
  imageKey?: string;
}

/** The context of an EC2 call, as most calls give it: the operation alone. */
export const ec2Operation = (operation: string): AwsCallContext => ({ service: 'EC2', operation });
export const iamOperation = (operation: string): AwsCallContext => ({ service: 'IAM', operation });

const CAPACITY = new Set(['InsufficientInstanceCapacity', 'InsufficientCapacity', 'InsufficientHostCapacity']);
const SPOT_PRICE = new Set(['SpotMaxPriceTooLow']);
const QUOTA = new Set([
  'InstanceLimitExceeded',
  'VcpuLimitExceeded',
  'MaxSpotInstanceCountExceeded',
  'LimitExceededException',
  'LimitExceeded',
]);
const NOT_ALLOWED = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException', 'Blocked', 'OptInRequired']);
const BAD_CREDENTIALS = new Set([
  'AuthFailure',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
]);
const THROTTLED = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);
const BAD_IMAGE = /^InvalidAMIID\./;
const BAD_TYPE = new Set(['InvalidInstanceType', 'Unsupported']);

/** Spot errors after which an on-demand launch of the same instances may succeed (`eco_fallback`). */
export function isSpotUnavailable(error: unknown): boolean {
  const name = errorName(error);
  return CAPACITY.has(name) || SPOT_PRICE.has(name) || name === 'MaxSpotInstanceCountExceeded';
}

/** An instance type this region or zone does not offer (`Unsupported`, `InvalidInstanceType`): another type may be. */
export function isTypeUnavailable(error: unknown): boolean {
  return BAD_TYPE.has(errorName(error));
}

/** On-demand errors after which another type of a `type` list may launch: no capacity, or the type not offered here. */
export function isCapacityRefusal(error: unknown): boolean {
  return CAPACITY.has(errorName(error)) || isTypeUnavailable(error);
}

/** A throttling error the SDK kept getting through all of its retries. */
export function isThrottling(error: unknown): boolean {
  return THROTTLED.has(errorName(error));
}

export function errorName(error: unknown): string {
  if (error && typeof error === 'object') {
    const { name, Code, code } = error as { name?: unknown; Code?: unknown; code?: unknown };
    for (const candidate of [Code, code, name]) if (typeof candidate === 'string' && candidate && candidate !== 'Error') return candidate;
  }
  return 'Error';
}

/**
 * Turns an AWS SDK error into one KatapultError line: a stable code, what AWS refused, and what to do.
 * Exit 2 when the config names something AWS does not have (an `img_id`, a `type`); exit 3 for everything else,
 * unauthorized included, like ECR's KP_AWS_UNAUTHORIZED: the fix is in the AWS account, not in the command line.
 */
export function toKatapultError(error: unknown, context: AwsCallContext): KatapultError {
  if (error instanceof KatapultError) return error;
  const name = errorName(error);
  const message = cleanMessage(error);
  const call = `${context.service} ${context.operation}`;
  const type = context.instanceType ?? 'this instance type';
  const where = context.region ? ` in ${context.region}` : '';
  const options = (hint: string, exitCode: ExitCode = ExitCode.infrastructure) => ({ hint, exitCode, cause: error });

  if (CAPACITY.has(name)) {
    return new KatapultError(
      'KP_AWS_NO_CAPACITY',
      `${call}: AWS has no ${type} capacity${where} right now (${name})`,
      options('try another type or region, or later; with eco: true, eco_fallback: true launches on-demand instead'),
    );
  }
  if (SPOT_PRICE.has(name)) {
    const bid = context.maxBid ? `max_bid ${context.maxBid} $/h` : 'the max price';
    return new KatapultError(
      'KP_AWS_SPOT_PRICE',
      `${call}: ${bid} is below the current spot price of ${type}${where} (${name})`,
      options('raise instances[].max_bid, or remove it to pay the current spot price'),
    );
  }
  if (QUOTA.has(name)) {
    return new KatapultError(
      'KP_AWS_QUOTA',
      `${call}: an AWS quota is reached (${name}): ${message}`,
      options('lower instances[].number or ask AWS for a higher quota (Service Quotas, EC2)'),
    );
  }
  if (BAD_CREDENTIALS.has(name)) {
    return new KatapultError(
      'KP_AWS_UNAUTHORIZED',
      `${call}: AWS refused the credentials (${name})`,
      options('check the profile (config `profile` or AWS_PROFILE) and that its keys are valid and not expired'),
    );
  }
  if (NOT_ALLOWED.has(name)) {
    const action = `${context.service.toLowerCase()}:${context.operation}`;
    return new KatapultError(
      'KP_AWS_UNAUTHORIZED',
      `${call}: the credentials may not use ${action} (${name})`,
      options(`allow ${action} to the profile's user or role (see README, AWS)`),
    );
  }
  if (isThrottling(error)) {
    const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts;
    return new KatapultError(
      'KP_AWS_THROTTLED',
      `${call}: AWS is throttling requests${attempts ? ` (still after ${attempts} attempts)` : ''} (${name})`,
      options('wait a minute and run it again; AWS_MAX_ATTEMPTS raises the number of retries'),
    );
  }
  if (/CredentialsProviderError|CredentialsError/.test(name) || /Could not load credentials/i.test(message)) {
    return new KatapultError(
      'KP_AWS_NO_CREDENTIALS',
      `${call}: no AWS credentials found`,
      options('set `profile` in the config or AWS_PROFILE, or run `aws configure`'),
    );
  }
  if (BAD_IMAGE.test(name)) {
    return new KatapultError(
      'KP_AWS_IMAGE_NOT_FOUND',
      `${call}: ${message} (${name})`,
      options(
        `${context.imageKey ?? 'instances[].img_id'} must be an AMI of this region that the account can use; leave it out for the latest Debian 12`,
        ExitCode.badInput,
      ),
    );
  }
  if (BAD_TYPE.has(name)) {
    return new KatapultError(
      'KP_AWS_INSTANCE_TYPE',
      `${call}: ${message} (${name})`,
      options(
        'instances[].type must be an EC2 instance type offered in this region (aws ec2 describe-instance-type-offerings)',
        ExitCode.badInput,
      ),
    );
  }
  return new KatapultError('KP_AWS_ERROR', `${call}: ${name}: ${message}`, { cause: error });
}

/** Runs one AWS call and turns its failure into one line. */
export async function awsCall<T>(context: AwsCallContext, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toKatapultError(error, context);
  }
}

/** One line: AWS's encoded authorization blobs and line breaks removed, and no longer than 300 characters. */
function cleanMessage(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  const text = raw
    .replace(/\s*Encoded authorization failure message:.*$/s, '')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
