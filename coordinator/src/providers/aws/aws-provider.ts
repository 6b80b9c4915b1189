import { randomBytes, randomUUID } from 'node:crypto';
import { DescribeInstancesCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client, type Filter } from '@aws-sdk/client-ec2';
import type { IAMClient } from '@aws-sdk/client-iam';
import { DEFAULT_PROJECT, ExitCode, KatapultError, poolIdOf, type InstanceSpec, type Pool } from '@katapult/core';
import type { EnsureContext, Provider } from '../provider.js';
import { awsCall, errorName, isCapacityRefusal, isSpotUnavailable, isTypeUnavailable, toKatapultError } from './aws-errors.js';
import {
  describeInstanceType,
  ensureInstanceProfile,
  ensureKeyPair,
  ensureSecurityGroup,
  resolveImage,
  resolveNetwork,
  type InstanceTypeInfo,
  type ResolvedImage,
} from './aws-resources.js';
import { DEFAULT_INSTANCE_TYPE, candidateTypes, instanceLayout, lifetimeSeconds, runInstancesInput, type LaunchInput, type Market } from './launch-input.js';
import { TAG, tagFilter, tagValue, type Owner } from './tags.js';
import { renderUserData } from './user-data.js';
import type { AgentCredentialIssuer } from '../../nats-users.js';

export interface AwsClients {
  ec2: EC2Client;
  iam: IAMClient;
}

/** What each instance's agent is started with (see user-data.ts). */
export interface AwsAgentSettings {
  /** The agent image, in a registry the instances can pull from: ECR (`katapult/*` repositories) with the instance role. */
  image: string;
  /** NATS as the instances reach it, and the restricted agent user. */
  natsUrl: string;
  /** One user shared by every instance; unused when the provider has `credentials` (a user per agent). */
  natsUser?: string | undefined;
  natsPassword?: string | undefined;
  /** The stack's CA certificate (PEM) when NATS speaks TLS. */
  natsCa?: string | undefined;
  /** The name NATS's certificate is checked against, when not the host in `natsUrl`. */
  natsTlsName?: string | undefined;
  stackLabel: string;
  heartbeatMs?: number | undefined;
}

export interface AwsProviderOptions {
  cluster: string;
  /** The clients' region (null: the SDK's default); every `instances[].region` given must be this one. */
  region: string | null;
  agent: AwsAgentSettings;
  /**
   * Issues each agent its own NATS user, limited to its own subjects: each instance is then launched on its own,
   * with an agent id chosen before launch (the instance id is not known until then), tagged `katapult:agent`.
   */
  credentials?: AgentCredentialIssuer;
  /** Owner used when `ensure` is called without a context. */
  project?: string;
  runId?: string;
  /** Opens SSH (port 22) to this range only; none by default. */
  sshCidr?: string | null;
  /** Creates the project's key pair and writes its private key to this file (0600). */
  keyPairFile?: string | null;
  log?: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  newToken?: () => string;
  /** How long a launched instance that DescribeInstances does not list yet (EC2 is eventually consistent) still counts. */
  launchGraceMs?: number;
  /** How old an instance of no known pool must be before it is terminated as an orphan. Default 10 minutes. */
  orphanGraceMs?: number;
}

interface ProjectResources {
  subnetId: string;
  securityGroupId: string;
  instanceProfileName: string;
  keyName: string | null;
}

interface LiveInstance {
  id: string;
  /** Its pool (`katapult:pool`): instances of another pool of the project are never counted as this one's. */
  pool: string | undefined;
  agent?: string | undefined;
  launchedAt?: number | undefined;
}

const LIVE_STATES = ['pending', 'running'];
/** An instance profile just created is refused by RunInstances until IAM has spread it: retried this many times. */
const PROFILE_ATTEMPTS = 8;
/** How long a refused type is skipped by the next launches of its pool. */
const REFUSAL_MEMORY_MS = 60_000;

/**
 * EC2 instances, each booting one agent (user-data.ts). `ensure` counts the project's live instances of each
 * `instances` entry by their tags and launches the missing ones: spot when `eco`, falling back to on-demand when
 * spot cannot be had and `eco_fallback` (default) allows it. Calls are serialized, so two overlapping `ensure`
 * calls never launch the same instances twice. `terminateAll` terminates the cluster's instances and does not wait;
 * the project's other resources stay for the next run, and `katapult down` (aws-down.ts) removes them.
 */
export class AwsProvider implements Provider {
  readonly name = 'aws';
  private readonly resources = new Map<string, Promise<ProjectResources>>();
  private readonly images = new Map<string, Promise<ResolvedImage>>();
  private readonly types = new Map<string, Promise<InstanceTypeInfo>>();
  /** Instances launched by this provider, until DescribeInstances lists them. */
  private readonly launched = new Map<string, LiveInstance & { project: string; at: number }>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Per pool, what its last launch took when its entry had a choice, and what was refused before. */
  private readonly notes = new Map<string, string>();
  /** Per pool, when each choice (`market type`) was last refused: skipped for a while by the next launches. */
  private readonly refusals = new Map<string, Map<string, { at: number; code: string }>>();

  constructor(
    private readonly clients: AwsClients,
    private readonly options: AwsProviderOptions,
  ) {}

  ensure(instances: readonly InstanceSpec[], context?: EnsureContext): Promise<string[]> {
    return this.serialized(() => this.ensureNow(instances, context));
  }

  /** Terminates one pool's instances (auto_stop); the project's other pools and resources stay. */
  stopPool(pool: Pool): Promise<string[]> {
    return this.serialized(() => this.terminate([tagFilter(TAG.pool, pool.id)], (id) => this.launched.get(id)?.pool === pool.id));
  }

  launchNote(pool: string): string | undefined {
    return this.notes.get(pool);
  }

  /**
   * Terminates the cluster's instances whose pool no stored run has, once older than `orphanGraceMs` (and never one
   * this provider launched moments ago): a coordinator that lost its state, or a run removed, must not leave them
   * running and billed. The maestro carries no cluster tag, so it is never one of them. Logged one line each.
   */
  terminateOrphans(knownPools: ReadonlySet<string>): Promise<string[]> {
    return this.serialized(async () => {
      const grace = this.options.orphanGraceMs ?? 600_000;
      const now = this.now();
      const instances = await this.describe([tagFilter(TAG.cluster, this.options.cluster), { Name: 'instance-state-name', Values: [...LIVE_STATES, 'stopped'] }]);
      const orphans = instances.filter(
        (instance) =>
          instance.pool !== undefined &&
          !knownPools.has(instance.pool) &&
          !this.launched.has(instance.id) &&
          instance.launchedAt !== undefined &&
          now - instance.launchedAt >= grace,
      );
      if (orphans.length === 0) return [];
      const ids = orphans.map((instance) => instance.id);
      await awsCall({ service: 'EC2', operation: 'TerminateInstances' }, () => this.clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })));
      for (const instance of orphans) {
        if (instance.agent) this.options.credentials?.revoke(instance.agent);
        const minutes = Math.round((now - instance.launchedAt!) / 60_000);
        this.log(`orphans: terminated ${instance.id} of pool ${instance.pool}, which no stored run has (up ${minutes} min)`);
      }
      return ids;
    });
  }

  terminateAll(): Promise<string[]> {
    return this.serialized(() => this.terminate([], () => true));
  }

  /** Terminates the instance an agent taken for lost runs on (found by its `katapult:agent` tag, or its id). */
  fence(agentId: string): Promise<void> {
    return this.serialized(async () => {
      const filter: Filter = agentId.startsWith('i-') ? { Name: 'instance-id', Values: [agentId] } : tagFilter(TAG.agent, agentId);
      await this.terminate([filter], (id) => id === agentId || this.launched.get(id)?.agent === agentId);
    });
  }

  /** Terminates the cluster's instances that match these filters (and forgets the launched ones `forget` picks); does not wait. */
  private async terminate(filters: Filter[], forget: (id: string) => boolean): Promise<string[]> {
    {
      const instances = await this.describe([
        tagFilter(TAG.cluster, this.options.cluster),
        ...filters,
        { Name: 'instance-state-name', Values: [...LIVE_STATES, 'stopping', 'stopped'] },
      ]);
      const ids = instances.map((instance) => instance.id);
      for (let i = 0; i < ids.length; i += 500) {
        const batch = ids.slice(i, i + 500);
        await awsCall({ service: 'EC2', operation: 'TerminateInstances' }, () => this.clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: batch })));
      }
      for (const id of [...this.launched.keys()]) if (forget(id)) this.launched.delete(id);
      for (const instance of instances) if (instance.agent) this.options.credentials?.revoke(instance.agent);
      if (ids.length > 0) this.log(`terminated ${ids.join(', ')}`);
      return instances.map((instance) => instance.agent ?? instance.id);
    }
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async ensureNow(instances: readonly InstanceSpec[], context: EnsureContext | undefined): Promise<string[]> {
    const owner: Owner = { project: context?.project ?? this.options.project ?? DEFAULT_PROJECT, runId: context?.runId ?? this.options.runId ?? 'none' };
    this.checkRegions(instances);
    const resources = await this.projectResources(owner);
    const live = await this.liveInstances(owner.project);
    const ids: string[] = [];
    for (const spec of instances) {
      const pool = poolIdOf(owner.project, 'aws', spec);
      const mine = live.filter((instance) => instance.pool === pool);
      ids.push(...mine.map((instance) => instance.id));
      const layout = instanceLayout(spec, (await this.typeInfo(spec.type ?? DEFAULT_INSTANCE_TYPE)).vcpus);
      const missing = layout.count - mine.length;
      if (missing > 0) ids.push(...(await this.launch(spec, pool, layout.cpusEach, missing, owner, resources)));
    }
    return ids;
  }

  private checkRegions(instances: readonly InstanceSpec[]): void {
    const region = this.options.region;
    const other = instances.find((spec) => spec.region !== null && spec.region !== region);
    if (other) {
      throw new KatapultError(
        'KP_AWS_REGION',
        `instances[${other.group}].region is ${other.region} but the AWS provider works in ${region ?? "the profile's default region"}`,
        { exitCode: ExitCode.badInput, hint: 'give every instances entry the same region (several regions are not supported yet)' },
      );
    }
  }

  /** Network, security group, instance profile and key pair of a project: made once per provider, reused after. */
  private projectResources(owner: Owner): Promise<ProjectResources> {
    let pending = this.resources.get(owner.project);
    if (!pending) {
      pending = (async () => {
        const { ec2, iam } = this.clients;
        const network = await resolveNetwork(ec2, owner);
        const securityGroupId = await ensureSecurityGroup(ec2, owner, network.vpcId, this.options.sshCidr);
        const profile = await ensureInstanceProfile(iam, owner, this.options.region);
        const keyName = this.options.keyPairFile ? await ensureKeyPair(ec2, owner, this.options.keyPairFile) : null;
        return { subnetId: network.subnetId, securityGroupId, instanceProfileName: profile.name, keyName };
      })();
      this.resources.set(owner.project, pending);
      pending.catch(() => this.resources.delete(owner.project));
    }
    return pending;
  }

  /** The project's pending and running instances in this cluster, with those just launched that EC2 does not list yet. */
  private async liveInstances(project: string): Promise<LiveInstance[]> {
    const listed = await this.describe([
      tagFilter(TAG.cluster, this.options.cluster),
      tagFilter(TAG.project, project),
      { Name: 'instance-state-name', Values: LIVE_STATES },
    ]);
    const seen = new Set(listed.map((instance) => instance.id));
    const now = this.now();
    for (const [id, recent] of this.launched) {
      if (seen.has(id) || now - recent.at > (this.options.launchGraceMs ?? 120_000)) this.launched.delete(id);
      else if (recent.project === project) listed.push(recent);
    }
    return listed;
  }

  private async describe(filters: Filter[]): Promise<LiveInstance[]> {
    const found: LiveInstance[] = [];
    let token: string | undefined;
    do {
      const page = await awsCall({ service: 'EC2', operation: 'DescribeInstances' }, () =>
        this.clients.ec2.send(new DescribeInstancesCommand({ Filters: filters, ...(token ? { NextToken: token } : {}) })),
      );
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          if (!instance.InstanceId) continue;
          found.push({
            id: instance.InstanceId,
            pool: tagValue(instance.Tags, TAG.pool),
            agent: tagValue(instance.Tags, TAG.agent),
            launchedAt: instance.LaunchTime?.getTime(),
          });
        }
      }
      token = page.NextToken;
    } while (token);
    return found;
  }

  private async launch(spec: InstanceSpec, pool: string, cpus: number, count: number, owner: Owner, resources: ProjectResources): Promise<string[]> {
    const issuer = this.options.credentials;
    if (!issuer) return this.launchMarket(spec, pool, cpus, count, owner, resources, undefined);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const agentId = `aws-${spec.group}-${randomBytes(4).toString('hex')}`;
      const nats = issuer.issue(agentId);
      try {
        ids.push(...(await this.launchMarket(spec, pool, cpus, 1, owner, resources, { id: agentId, user: nats.user, pass: nats.pass })));
      } catch (error) {
        issuer.revoke(agentId);
        throw error;
      }
    }
    return ids;
  }

  /**
   * Launches `count` instances of an entry, trying its types in order (`type`, then `fallbackTypes`) in each market:
   * spot first when `eco`, then on-demand when `eco_fallback` allows it. A type AWS has no capacity for (or no spot
   * under `max_bid`, or does not offer here) passes to the next; any other error stops. Only when every type of
   * every market is refused is it an error: the one refusal of a single choice, or one line naming all of them.
   */
  private async launchMarket(
    spec: InstanceSpec,
    pool: string,
    /** What each agent offers with the entry's first type: the layout's, not always the config's `cpus`. */
    cpus: number,
    count: number,
    owner: Owner,
    resources: ProjectResources,
    agentUser: { id: string; user: string; pass: string } | undefined,
  ): Promise<string[]> {
    const types = candidateTypes(spec);
    const markets: Market[] = spec.eco ? (spec.ecoFallback ? ['spot', 'on-demand'] : ['spot']) : ['on-demand'];
    const all = markets.flatMap((market) => types.map((type) => ({ market, type })));
    // A choice refused moments ago (for the instance before this one) is not asked again, unless all were.
    const recent = this.refusals.get(pool) ?? new Map<string, { at: number; code: string }>();
    this.refusals.set(pool, recent);
    const now = this.now();
    const fresh = all.filter(({ market, type }) => now - (recent.get(`${market} ${type}`)?.at ?? Number.NEGATIVE_INFINITY) >= REFUSAL_MEMORY_MS);
    const choices = fresh.length > 0 ? fresh : all;
    const refused: string[] = [];
    for (const [index, { market, type }] of choices.entries()) {
      const context = { service: 'EC2' as const, operation: 'RunInstances', instanceType: type, maxBid: spec.maxBid, ...(this.options.region ? { region: this.options.region } : {}) };
      try {
        // Another type may have other vCPUs: an entry without `cpus` offers all of the one launched.
        const cpusOfType = type === types[0] ? cpus : instanceLayout({ ...spec, type }, (await this.typeInfo(type)).vcpus).cpusEach;
        const ids = await this.launchType(spec, type, market, pool, cpusOfType, count, owner, resources, agentUser);
        const skipped = all
          .filter((choice) => !choices.includes(choice))
          .map((choice) => `${choice.market} ${choice.type}: ${recent.get(`${choice.market} ${choice.type}`)?.code ?? 'refused'}`);
        const refusedAll = [...skipped, ...refused];
        if (all.length > 1) this.notes.set(pool, `launched ${market} ${type}${refusedAll.length > 0 ? ` (refused: ${refusedAll.join('; ')})` : ''}`);
        return ids;
      } catch (error) {
        const refusal = market === 'spot' ? isSpotUnavailable(error) || isTypeUnavailable(error) : isCapacityRefusal(error);
        if (!refusal || all.length === 1) throw toKatapultError(error, context);
        recent.set(`${market} ${type}`, { at: this.now(), code: errorName(error) });
        refused.push(`${market} ${type}: ${errorName(error)}`);
        const next = choices[index + 1];
        const why = next && next.market !== market ? ' (eco_fallback)' : '';
        if (next) this.log(`instances[${spec.group}]: no ${market} ${type} (${errorName(error)}); trying ${next.market} ${next.type}${why}`);
      }
    }
    this.notes.set(pool, `no instance launched: AWS refused ${refused.join('; ')}`);
    throw new KatapultError('KP_AWS_NO_CAPACITY', `instances[${spec.group}]: AWS refused every choice${this.options.region ? ` in ${this.options.region}` : ''}: ${refused.join('; ')}`, {
      hint: 'add types to instances[].type (a list is tried in order), raise max_bid, or try later',
      exitCode: ExitCode.infrastructure,
    });
  }

  /** One RunInstances for `count` instances of one type in one market. */
  private async launchType(
    spec: InstanceSpec,
    type: string,
    market: Market,
    pool: string,
    cpus: number,
    count: number,
    owner: Owner,
    resources: ProjectResources,
    agentUser: { id: string; user: string; pass: string } | undefined,
  ): Promise<string[]> {
    const image = await this.image(spec.imgId, type);
    const { agent, cluster } = this.options;
    const userData = renderUserData({
      agentImage: agent.image,
      natsUrl: agent.natsUrl,
      natsUser: agentUser?.user ?? agent.natsUser,
      natsPassword: agentUser?.pass ?? agent.natsPassword,
      natsCa: agent.natsCa,
      natsTlsName: agent.natsTlsName,
      agentId: agentUser?.id,
      pool,
      cluster,
      cpus,
      memoryBytes: spec.memoryBytes,
      stackLabel: agent.stackLabel,
      heartbeatMs: agent.heartbeatMs,
      lifetimeSeconds: lifetimeSeconds(spec),
      gpu: spec.gpu,
    });
    const input: LaunchInput = {
      spec,
      pool,
      count,
      market,
      instanceType: type,
      owner,
      cluster,
      image,
      subnetId: resources.subnetId,
      securityGroupId: resources.securityGroupId,
      instanceProfileName: resources.instanceProfileName,
      keyName: resources.keyName,
      userData,
      agentId: agentUser?.id,
      clientToken: this.newToken(),
      now: new Date(this.now()),
    };
    return this.runInstances(input);
  }

  private async runInstances(input: LaunchInput): Promise<string[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const started = await this.clients.ec2.send(new RunInstancesCommand(runInstancesInput(attempt === 1 ? input : { ...input, clientToken: this.newToken() })));
        const ids = (started.Instances ?? []).map((instance) => instance.InstanceId).filter((id): id is string => Boolean(id));
        const at = this.now();
        for (const id of ids) this.launched.set(id, { id, pool: input.pool, project: input.owner.project, at });
        this.log(`instances[${input.spec.group}]: launched ${input.market} ${input.instanceType ?? input.spec.type ?? DEFAULT_INSTANCE_TYPE} ${ids.join(', ')}`);
        return ids;
      } catch (error) {
        // A new instance profile takes a few seconds to reach EC2: "Invalid IAM Instance Profile name".
        const propagating = errorName(error) === 'InvalidParameterValue' && /iam ?instance ?profile/i.test(error instanceof Error ? error.message : '');
        if (!propagating || attempt >= PROFILE_ATTEMPTS) throw error;
        await this.sleep(attempt * 2_000);
      }
    }
  }

  private image(imgId: string | null, type: string): Promise<ResolvedImage> {
    const key = imgId ?? `debian:${type}`;
    let pending = this.images.get(key);
    if (!pending) {
      pending = this.typeInfo(type).then((info) => resolveImage(this.clients.ec2, imgId, type, info));
      this.images.set(key, pending);
      pending.catch(() => this.images.delete(key));
    }
    return pending;
  }

  private typeInfo(type: string): Promise<InstanceTypeInfo> {
    let pending = this.types.get(type);
    if (!pending) {
      pending = describeInstanceType(this.clients.ec2, type);
      this.types.set(type, pending);
      pending.catch(() => this.types.delete(type));
    }
    return pending;
  }

  private log(line: string): void {
    this.options.log?.(`aws: ${line}`);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private sleep(ms: number): Promise<void> {
    return (this.options.sleep ?? ((delay: number) => new Promise<void>((resolve) => setTimeout(resolve, delay))))(ms);
  }

  private newToken(): string {
    return (this.options.newToken ?? randomUUID)();
  }
}
