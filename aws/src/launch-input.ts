import { createHash } from 'node:crypto';
import type { BlockDeviceMapping, RunInstancesCommandInput, VolumeType } from '@aws-sdk/client-ec2';
import { DEFAULT_AWS_INSTANCE_TYPE, ExitCode, KatapultError, parseDuration, type InstanceSpec } from '@katapult/core';
import { TAG, ownerTags, resourceName, tagSpecifications, type Owner } from './tags.js';

/** The instance type when `type` is not given. */
export const DEFAULT_INSTANCE_TYPE = DEFAULT_AWS_INSTANCE_TYPE;

export type Market = 'spot' | 'on-demand';

/** Everything one RunInstances call needs, resolved: the config's entry, where to launch, and the boot script. */
export interface LaunchInput {
  spec: InstanceSpec;
  /** The pool the instances are launched for (poolIdOf), tagged `katapult:pool`. */
  pool: string;
  /** How many instances of the entry are missing: at most this many are launched, at least one. */
  count: number;
  market: Market;
  /** The type tried: `spec.type`, or one of its `fallbackTypes`; default `spec.type`. */
  instanceType?: string | undefined;
  owner: Owner;
  cluster: string;
  image: { imageId: string; rootDeviceName?: string | undefined };
  subnetId: string;
  securityGroupId: string;
  instanceProfileName: string;
  keyName?: string | null | undefined;
  /** The boot script (user-data.ts), in clear: it is base64-encoded here. */
  userData: string;
  /** The agent the (single) instance boots, with its own NATS user; tagged so the instance can be told by it. */
  agentId?: string | undefined;
  /** Makes the call idempotent: the SDK's own retries of it launch nothing twice. */
  clientToken: string;
  now: Date;
}

/**
 * The AWS settings of an `instances` entry, hashed: an instance is counted as one of the entry's only when it
 * was launched with the same ones (changing `type` or `disk_size` launches new instances).
 */
export function instanceSpecHash(spec: InstanceSpec): string {
  const { type, imgId, diskSize, diskType, eco, ecoLife, maxBid, memoryBytes, gpu, explode } = spec;
  // `cpus` counts only when the config gave it: otherwise it is the coordinator machine's, which EC2 does not use.
  const cpus = spec.cpusGiven ? spec.cpus : null;
  const fallbacks = spec.fallbackTypes?.length ? { fallbackTypes: spec.fallbackTypes } : {};
  const key = JSON.stringify({
    type,
    ...fallbacks,
    imgId,
    diskSize,
    diskType,
    eco,
    ecoLife,
    maxBid,
    cpus,
    memoryBytes,
    gpu,
    ...(explode ? {} : { explode }),
  });
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/**
 * How long an instance of this entry may live, from `eco_life` (seconds or a duration string; the config rules
 * have checked it), when `eco` is on; null: no limit. AWS refuses a spot request's ValidUntil on one-time requests
 * (InvalidParameterCombination) and one-time is what an instance that is replaced rather than revived needs, so
 * the limit is kept by the instance itself (user-data.ts) and shown in its `katapult:expires` tag.
 */
export function lifetimeSeconds(spec: InstanceSpec): number | null {
  if (!spec.eco || spec.ecoLife === null) return null;
  const parsed = parseDuration(spec.ecoLife);
  return parsed.ok ? parsed.seconds : null;
}

/** How an `instances` entry is made of EC2 instances: how many per `number`, and the cpus each agent offers. */
export interface InstanceLayout {
  count: number;
  cpusEach: number;
}

/**
 * `cpus` against the type's vCPUs. Not given: each instance offers all of its vCPUs. At most the type's: each
 * offers `cpus`. More: with `explode` (the default) each of the `number` instances is made of as many instances
 * of the type as it takes to give `cpus` (all of their vCPUs each); without it, a one-line config error.
 */
export function instanceLayout(spec: InstanceSpec, vcpus: number | undefined): InstanceLayout {
  const type = spec.type ?? DEFAULT_INSTANCE_TYPE;
  if (!spec.cpusGiven) return { count: spec.number, cpusEach: vcpus ?? spec.cpus };
  if (vcpus === undefined || spec.cpus <= vcpus) return { count: spec.number, cpusEach: spec.cpus };
  if (!spec.explode) {
    throw new KatapultError('KP_AWS_CPUS', `instances[${spec.group}].cpus is ${spec.cpus} but a ${type} has ${vcpus} vCPUs`, {
      hint: `set explode: true to make it of ${Math.ceil(spec.cpus / vcpus)} ${type} instances, or pick a type with ${spec.cpus} vCPUs`,
      exitCode: ExitCode.badInput,
    });
  }
  return { count: spec.number * Math.ceil(spec.cpus / vcpus), cpusEach: vcpus };
}

/** The types an entry may be launched as, in the order they are tried: `type` (or the default), then `fallbackTypes`. */
export function candidateTypes(spec: InstanceSpec): string[] {
  return [spec.type ?? DEFAULT_INSTANCE_TYPE, ...(spec.fallbackTypes ?? [])];
}

/** `max_bid` in dollars per hour as AWS takes it: a decimal string, never an exponent. */
export function formatPrice(dollarsPerHour: number): string {
  return dollarsPerHour.toFixed(6).replace(/0+$/, '').replace(/\.$/, '');
}

export function instanceTags(
  input: Pick<LaunchInput, 'spec' | 'pool' | 'owner' | 'cluster' | 'market' | 'now' | 'agentId'>,
): Record<string, string> {
  const life = lifetimeSeconds(input.spec);
  return ownerTags(input.owner, {
    Name: `${resourceName(input.owner.project)}-${input.spec.group}`,
    [TAG.cluster]: input.cluster,
    [TAG.group]: String(input.spec.group),
    [TAG.spec]: instanceSpecHash(input.spec),
    [TAG.pool]: input.pool,
    [TAG.market]: input.market,
    ...(input.agentId ? { [TAG.agent]: input.agentId } : {}),
    ...(life ? { [TAG.expires]: new Date(input.now.getTime() + life * 1000).toISOString() } : {}),
  });
}

/** The root volume from `disk_size` (GiB) and `disk_type` (gp3, io2, ...), deleted with the instance; none if neither is set. */
export function blockDeviceMappings(spec: InstanceSpec, rootDeviceName: string | undefined): BlockDeviceMapping[] | undefined {
  if (spec.diskSize === null && spec.diskType === null) return undefined;
  return [
    {
      DeviceName: rootDeviceName ?? '/dev/xvda',
      Ebs: {
        DeleteOnTermination: true,
        ...(spec.diskSize === null ? {} : { VolumeSize: spec.diskSize }),
        ...(spec.diskType === null ? {} : { VolumeType: spec.diskType as VolumeType }),
      },
    },
  ];
}

/**
 * The RunInstances input for `count` instances of one `instances` entry. On-demand, or spot (`eco: true`): a one-time
 * request, terminated on interruption (the agent gets the two-minute notice from IMDS), with `max_bid` as MaxPrice
 * (none: the current spot price). Every instance, its volumes and its spot request are tagged; IMDSv2 only, hop
 * limit 1; a shutdown from inside terminates the instance.
 */
export function runInstancesInput(input: LaunchInput): RunInstancesCommandInput {
  const { spec, market } = input;
  const tags = instanceTags(input);
  const blocks = blockDeviceMappings(spec, input.image.rootDeviceName);
  return {
    ImageId: input.image.imageId,
    InstanceType: (input.instanceType ?? spec.type ?? DEFAULT_INSTANCE_TYPE) as RunInstancesCommandInput['InstanceType'],
    MinCount: 1,
    MaxCount: input.count,
    ClientToken: input.clientToken,
    SubnetId: input.subnetId,
    SecurityGroupIds: [input.securityGroupId],
    IamInstanceProfile: { Name: input.instanceProfileName },
    ...(input.keyName ? { KeyName: input.keyName } : {}),
    UserData: Buffer.from(input.userData, 'utf8').toString('base64'),
    InstanceInitiatedShutdownBehavior: 'terminate',
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
    ...(blocks ? { BlockDeviceMappings: blocks } : {}),
    ...(market === 'spot'
      ? {
          InstanceMarketOptions: {
            MarketType: 'spot',
            SpotOptions: {
              SpotInstanceType: 'one-time',
              InstanceInterruptionBehavior: 'terminate',
              ...(spec.maxBid === null ? {} : { MaxPrice: formatPrice(spec.maxBid) }),
            },
          },
        }
      : {}),
    TagSpecifications: tagSpecifications(
      market === 'spot' ? ['instance', 'volume', 'spot-instances-request'] : ['instance', 'volume'],
      tags,
    ),
  };
}
