import { randomUUID } from 'node:crypto';
import {
  DescribeInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { ExitCode, KatapultError } from '@katapult/core';
import { awsCall, ec2Operation as ec2, errorName, toKatapultError } from './aws-errors.js';
import type { AwsClients } from './aws-provider.js';
import { describeInstanceType, resolveImage, type ResolvedImage } from './resources/image.js';
import { ensureInstanceProfile } from './resources/instance-role.js';
import { ensureKeyPair } from './resources/key-pair.js';
import { ensureSecurityGroup, resolveNetwork } from './resources/network.js';
import {
  MAESTRO_ROLE,
  checkCidr,
  ensureMaestroInstanceProfile,
  ensureMaestroSecurityGroup,
  maestroResourceName,
  maestroRules,
} from './maestro-resources.js';
import { TAG, ownerTags, tagFilter, tagSpecifications, type Owner } from './tags.js';

export const MAESTRO_INSTANCE_TYPE = 't3.small';
export const MAESTRO_NATS_PORT = 4222;
export const MAESTRO_HTTP_PORT = 8443;
/** GiB: the image, and JetStream's data (runs, jobs, every line of log) for the cluster's life. */
export const MAESTRO_DISK_GIB = 20;

export interface MaestroLaunchOptions {
  owner: Owner;
  /** The coordinator's cluster on the maestro: its role may terminate only instances tagged with it. */
  cluster: string;
  region: string;
  /** Default t3.small. */
  instanceType?: string | undefined;
  /** `maestro_img_id`; default (null): the latest Debian 12 AMI of the type's architecture, as the agents get. */
  imageId?: string | null | undefined;
  /** Who may reach NATS and the API, e.g. the CLI's address, `198.51.100.7/32`. */
  allowedCidr: string;
  natsPort?: number | undefined;
  httpPort?: number | undefined;
  /** The boot script (renderMaestroUserData), in clear. */
  userData: string;
  /** The project's key pair (shared with the agents), its private key written there when it is made. */
  keyPairFile?: string | null | undefined;
  /** Opens SSH to this range only; none by default. */
  sshCidr?: string | null | undefined;
  /** Root volume, GiB (gp3). */
  diskSize?: number | undefined;
  log?: ((line: string) => void) | undefined;
  sleep?: ((ms: number) => Promise<void>) | undefined;
  now?: (() => number) | undefined;
  newToken?: (() => string) | undefined;
  /** Between two looks at a starting instance; default 5 s. */
  pollMs?: number | undefined;
  /** How long it may take to be running with a public address; default 5 minutes. */
  timeoutMs?: number | undefined;
}

export interface MaestroInstance {
  instanceId: string;
  publicIp: string;
  privateIp: string;
  /** The project's maestro was there already (running, pending, or stopped and started again): the boot script given was not used. */
  reused: boolean;
}

/** An instance profile just created is refused by RunInstances until IAM has spread it: retried this many times. */
const PROFILE_ATTEMPTS = 8;

/** The maestro's tags: the owner's, its role and its name; no cluster tag, so its coordinator's `terminateAll` leaves it. */
export function maestroTags(owner: Owner): Record<string, string> {
  return ownerTags(owner, { Name: maestroResourceName(owner.project), [TAG.role]: MAESTRO_ROLE });
}

export interface MaestroRunInput {
  owner: Owner;
  instanceType: string;
  image: ResolvedImage;
  subnetId: string;
  securityGroupId: string;
  instanceProfileName: string;
  keyName: string | null;
  userData: string;
  diskSize: number;
  clientToken: string;
}

/**
 * One on-demand instance with a public address (the CLI reaches it across the internet), IMDSv2 only with a hop
 * limit of 1 (the container has host networking, so its coordinator gets the role's credentials, while any
 * container on Docker's bridge would not), and shutdown behavior `stop`: a power-off keeps its disk, which holds
 * the cluster's state.
 */
export function maestroRunInstancesInput(input: MaestroRunInput): RunInstancesCommandInput {
  return {
    ImageId: input.image.imageId,
    InstanceType: input.instanceType as RunInstancesCommandInput['InstanceType'],
    MinCount: 1,
    MaxCount: 1,
    ClientToken: input.clientToken,
    NetworkInterfaces: [
      {
        DeviceIndex: 0,
        SubnetId: input.subnetId,
        Groups: [input.securityGroupId],
        AssociatePublicIpAddress: true,
        DeleteOnTermination: true,
      },
    ],
    IamInstanceProfile: { Name: input.instanceProfileName },
    ...(input.keyName ? { KeyName: input.keyName } : {}),
    UserData: Buffer.from(input.userData, 'utf8').toString('base64'),
    InstanceInitiatedShutdownBehavior: 'stop',
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
    BlockDeviceMappings: [
      {
        DeviceName: input.image.rootDeviceName ?? '/dev/xvda',
        Ebs: { DeleteOnTermination: true, VolumeSize: input.diskSize, VolumeType: 'gp3' },
      },
    ],
    TagSpecifications: tagSpecifications(['instance', 'volume'], maestroTags(input.owner)),
  };
}

/**
 * The project's maestro: one EC2 instance running NATS and the coordinator (renderMaestroUserData). Made in this
 * order: the network, the agents' security group and role (so the maestro's role never needs to create them), the
 * maestro's security group and role; then the project's maestro is reused when there is one (running or pending;
 * a stopped one is started again, as its disk holds the cluster's state), else one is launched. Returns once it
 * is running with a public address.
 */
export async function launchMaestro(clients: AwsClients, options: MaestroLaunchOptions): Promise<MaestroInstance> {
  const { owner, region } = options;
  checkCidr('allowedCidr', options.allowedCidr);
  if (options.sshCidr) checkCidr('sshCidr', options.sshCidr);
  const ports = { natsPort: options.natsPort ?? MAESTRO_NATS_PORT, httpPort: options.httpPort ?? MAESTRO_HTTP_PORT };
  const log = (line: string) => options.log?.(`aws: ${line}`);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  const network = await resolveNetwork(clients.ec2, owner);
  const agentsGroupId = await ensureSecurityGroup(clients.ec2, owner, network.vpcId);
  await ensureInstanceProfile(clients.iam, owner, region);
  const groupId = await ensureMaestroSecurityGroup(
    clients.ec2,
    owner,
    network.vpcId,
    maestroRules(options.allowedCidr, agentsGroupId, ports, options.sshCidr),
  );
  const profile = await ensureMaestroInstanceProfile(clients.iam, owner, options.cluster, region);

  const existing = await findMaestro(clients, owner.project);
  let instanceId: string;
  if (existing?.InstanceId) {
    instanceId = existing.InstanceId;
    if (existing.State?.Name === 'stopped') {
      await awsCall(ec2('StartInstances'), () => clients.ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] })));
      log(`maestro ${instanceId} was stopped: started it again`);
    } else {
      log(`maestro ${instanceId} is there already`);
      const ready = readyAddresses(existing);
      if (ready) return { instanceId, ...ready, reused: true };
    }
  } else {
    const instanceType = options.instanceType ?? MAESTRO_INSTANCE_TYPE;
    const imageId = options.imageId ?? null;
    const typeInfo = imageId ? undefined : await describeInstanceType(clients.ec2, instanceType);
    const image = await resolveImage(clients.ec2, imageId, instanceType, typeInfo, 'maestro_img_id');
    const keyName = options.keyPairFile ? await ensureKeyPair(clients.ec2, owner, options.keyPairFile) : null;
    const input: MaestroRunInput = {
      owner,
      instanceType,
      image,
      subnetId: network.subnetId,
      securityGroupId: groupId,
      instanceProfileName: profile.name,
      keyName,
      userData: options.userData,
      diskSize: options.diskSize ?? MAESTRO_DISK_GIB,
      clientToken: (options.newToken ?? randomUUID)(),
    };
    instanceId = await runMaestro(clients, input, options, sleep, region);
    log(`launched the maestro ${instanceId} (${instanceType})`);
  }
  return { instanceId, ...(await waitReady(clients, instanceId, options, sleep)), reused: Boolean(existing) };
}

/** The project's maestro that is not gone: running or pending first, else a stopped one. */
async function findMaestro(clients: AwsClients, project: string): Promise<Instance | undefined> {
  const found = await awsCall(ec2('DescribeInstances'), () =>
    clients.ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          tagFilter(TAG.project, project),
          tagFilter(TAG.role, MAESTRO_ROLE),
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopped'] },
        ],
      }),
    ),
  );
  const instances = (found.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? []);
  return instances.find((instance) => instance.State?.Name !== 'stopped') ?? instances[0];
}

async function runMaestro(
  clients: AwsClients,
  input: MaestroRunInput,
  options: MaestroLaunchOptions,
  sleep: (ms: number) => Promise<void>,
  region: string,
): Promise<string> {
  const context = { ...ec2('RunInstances'), instanceType: input.instanceType, region, imageKey: 'maestro_img_id' };
  for (let attempt = 1; ; attempt++) {
    try {
      const started = await clients.ec2.send(
        new RunInstancesCommand(
          maestroRunInstancesInput(attempt === 1 ? input : { ...input, clientToken: (options.newToken ?? randomUUID)() }),
        ),
      );
      const id = started.Instances?.[0]?.InstanceId;
      if (!id) throw new KatapultError('KP_AWS_ERROR', 'EC2 RunInstances returned no instance id');
      return id;
    } catch (error) {
      // A new instance profile takes a few seconds to reach EC2: "Invalid IAM Instance Profile name".
      const propagating =
        errorName(error) === 'InvalidParameterValue' && /iam ?instance ?profile/i.test(error instanceof Error ? error.message : '');
      if (!propagating || attempt >= PROFILE_ATTEMPTS) throw toKatapultError(error, context);
      await sleep(attempt * 2_000);
    }
  }
}

function readyAddresses(instance: Instance): { publicIp: string; privateIp: string } | undefined {
  if (instance.State?.Name !== 'running' || !instance.PublicIpAddress) return undefined;
  return { publicIp: instance.PublicIpAddress, privateIp: instance.PrivateIpAddress ?? '' };
}

/** Polls DescribeInstances until the maestro is running with a public address; a maestro terminated meanwhile, or the timeout, is one line. */
async function waitReady(
  clients: AwsClients,
  instanceId: string,
  options: MaestroLaunchOptions,
  sleep: (ms: number) => Promise<void>,
): Promise<{ publicIp: string; privateIp: string }> {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 300_000;
  const deadline = now() + timeoutMs;
  let state = 'unknown';
  for (;;) {
    let instance: Instance | undefined;
    try {
      const described = await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      instance = described.Reservations?.[0]?.Instances?.[0];
    } catch (error) {
      // EC2 is eventually consistent: an instance just launched may not be known yet.
      if (errorName(error) !== 'InvalidInstanceID.NotFound') throw toKatapultError(error, ec2('DescribeInstances'));
    }
    state = instance?.State?.Name ?? 'unknown';
    const ready = instance && readyAddresses(instance);
    if (ready) return ready;
    if (state === 'shutting-down' || state === 'terminated') {
      const reason = instance?.StateReason?.Message;
      throw new KatapultError('KP_AWS_MAESTRO_GONE', `the maestro ${instanceId} is ${state}${reason ? ` (${reason})` : ''}`, {
        hint: 'launch again; its console output (aws ec2 get-console-output) may say why',
      });
    }
    if (now() >= deadline) {
      throw new KatapultError(
        'KP_AWS_MAESTRO_TIMEOUT',
        `the maestro ${instanceId} is not running with a public address after ${Math.round(timeoutMs / 1000)} s (it is ${state})`,
        {
          hint: 'launch again to keep waiting, or look at it in the EC2 console',
          exitCode: ExitCode.infrastructure,
        },
      );
    }
    await sleep(options.pollMs ?? 5_000);
  }
}
