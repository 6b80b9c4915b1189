import { randomBytes, randomUUID } from 'node:crypto';
import { DescribeInstancesCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client, type Filter } from '@aws-sdk/client-ec2';
import type { IAMClient } from '@aws-sdk/client-iam';
import {
  DEFAULT_PROJECT,
  ExitCode,
  KatapultError,
  hourlyCapDecision,
  money,
  poolIdOf,
  type AgentCredentialIssuer,
  type EnsureContext,
  type InstanceSpec,
  type Pool,
  type PriceLookup,
  type PricedInstance,
  type Provider,
} from '@katapult/core';
import { awsCall, errorName, isCapacityRefusal, isSpotUnavailable, isTypeUnavailable, toKatapultError } from './aws-errors.js';
import { describeInstanceType, resolveImage, type InstanceTypeInfo, type ResolvedImage } from './resources/image.js';
import { ensureInstanceProfile } from './resources/instance-role.js';
import { ensureKeyPair } from './resources/key-pair.js';
import { ensureSecurityGroup, resolveNetwork, type ZoneSubnet } from './resources/network.js';
import {
  DEFAULT_INSTANCE_TYPE,
  candidateTypes,
  instanceLayout,
  lifetimeSeconds,
  runInstancesInput,
  type LaunchInput,
  type Market,
} from './launch-input.js';
import { TAG, tagFilter, tagValue, type Owner } from './tags.js';
import { renderUserData } from './user-data.js';
import { awsPriceLookup } from './prices.js';

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

/** The clients of one region (null: the SDK's default region). */
export type RegionalClients = (region: string | null) => AwsClients;

export interface AwsProviderOptions {
  cluster: string;
  /** The first region (null: the SDK's default); every `instances[].region` given must be this one. */
  region: string | null;
  /** The rest of the entries' `region` list, tried in order when every choice of the regions before is refused. */
  fallbackRegions?: readonly string[];
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
  /** Instance prices in a region, for `max_hourly_cost` and `max_cost`; default the AWS price lookup (prices.ts). */
  prices?: (region: string | null) => PriceLookup;
}

interface ProjectResources {
  /** One subnet per zone, in the order tried. */
  subnets: ZoneSubnet[];
  securityGroupId: string;
  instanceProfileName: string;
  keyName: string | null;
}

interface LiveInstance {
  id: string;
  region: string | null;
  /** Its pool (`katapult:pool`): instances of another pool of the project are never counted as this one's. */
  pool: string | undefined;
  agent?: string | undefined;
  launchedAt?: number | undefined;
  type?: string | undefined;
  market?: Market | undefined;
}

type AgentUser = { id: string; user: string; pass: string };

const LIVE_STATES = ['pending', 'running'];
/** An instance profile just created is refused by RunInstances until IAM has spread it: retried this many times. */
const PROFILE_ATTEMPTS = 8;
/** How long a refused type is skipped by the next launches of its pool. */
const REFUSAL_MEMORY_MS = 60_000;

/** Every choice of an entry refused in one region: the next region of its list may have them. */
class RegionRefused extends Error {
  constructor(readonly refusals: readonly string[]) {
    super(refusals.join('; '));
  }
}

/** An error as the one line a status shows. */
function oneLine(error: unknown): string {
  return error instanceof KatapultError ? error.toLine() : error instanceof Error ? error.message : String(error);
}

/**
 * EC2 instances, each booting one agent (user-data.ts). `ensure` counts the project's live instances of each
 * `instances` entry by their tags and launches the missing ones: spot when `eco`, falling back to on-demand when
 * spot cannot be had and `eco_fallback` (default) allows it. Calls are serialized, so two overlapping `ensure`
 * calls never launch the same instances twice. `terminateAll` terminates the cluster's instances and does not wait;
 * the project's other resources stay for the next run, and `katapult down` (aws-down.ts) removes them. One provider
 * serves one region list: its instances are counted in every region of it, and launched in the first that has
 * capacity. Under a run's `max_hourly_cost`, only as many are launched as keep the project's hourly cost under it.
 */
export class AwsProvider implements Provider {
  readonly name = 'aws';
  private readonly resources = new Map<string, Promise<ProjectResources>>();
  private readonly regional = new Map<string | null, AwsClients>();
  private readonly priceLookups = new Map<string | null, PriceLookup>();
  /** Per pool, the last `max_hourly_cost` line logged, so a cap that holds is logged once, not every check. */
  private readonly capLines = new Map<string, string>();
  private readonly images = new Map<string, Promise<ResolvedImage>>();
  private readonly types = new Map<string, Promise<InstanceTypeInfo>>();
  /** Instances launched by this provider, until DescribeInstances lists them. */
  private readonly launched = new Map<string, LiveInstance & { project: string; at: number }>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Per pool, what its last launch took when its entry had a choice, and what was refused before. */
  private readonly notes = new Map<string, string>();
  /** Per pool, when each choice (`region market type`, or `region market type zone`) was last refused: skipped for a while by the next launches. */
  private readonly refusals = new Map<string, Map<string, { at: number; code: string }>>();

  constructor(
    /** One region's clients, or the clients of any region (for a `region` list). */
    private readonly clients: AwsClients | RegionalClients,
    private readonly options: AwsProviderOptions,
  ) {}

  /** Where this provider launches, in the order tried. */
  private regions(): (string | null)[] {
    return [this.options.region, ...(this.options.fallbackRegions ?? [])];
  }

  private clientsIn(region: string | null): AwsClients {
    if (typeof this.clients !== 'function') return this.clients;
    let clients = this.regional.get(region);
    if (!clients) {
      clients = this.clients(region);
      this.regional.set(region, clients);
    }
    return clients;
  }

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
      const instances: LiveInstance[] = [];
      for (const region of this.regions()) {
        instances.push(
          ...(await this.describe(
            [tagFilter(TAG.cluster, this.options.cluster), { Name: 'instance-state-name', Values: [...LIVE_STATES, 'stopped'] }],
            region,
          )),
        );
      }
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
      for (const region of this.regions()) {
        const here = orphans.filter((instance) => instance.region === region).map((instance) => instance.id);
        if (here.length > 0)
          await awsCall({ service: 'EC2', operation: 'TerminateInstances' }, () =>
            this.clientsIn(region).ec2.send(new TerminateInstancesCommand({ InstanceIds: here })),
          );
      }
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
      const instances: LiveInstance[] = [];
      for (const region of this.regions()) {
        const here = await this.describe(
          [
            tagFilter(TAG.cluster, this.options.cluster),
            ...filters,
            { Name: 'instance-state-name', Values: [...LIVE_STATES, 'stopping', 'stopped'] },
          ],
          region,
        );
        const ids = here.map((instance) => instance.id);
        for (let i = 0; i < ids.length; i += 500) {
          const batch = ids.slice(i, i + 500);
          await awsCall({ service: 'EC2', operation: 'TerminateInstances' }, () =>
            this.clientsIn(region).ec2.send(new TerminateInstancesCommand({ InstanceIds: batch })),
          );
        }
        instances.push(...here);
      }
      const ids = instances.map((instance) => instance.id);
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
    const owner: Owner = {
      project: context?.project ?? this.options.project ?? DEFAULT_PROJECT,
      runId: context?.runId ?? this.options.runId ?? 'none',
    };
    this.checkRegions(instances);
    // The first region's network, group and role are made before anything is counted; the others' when first tried.
    await this.projectResources(owner, this.options.region);
    const live = await this.liveInstances(owner.project);
    const cap = context?.maxHourlyCost;
    // What the project's instances cost per hour now, or why that cannot be known (then nothing is launched under a cap).
    let perHour: number | string = cap
      ? await this.hourlyCostOf(live)
          .then((here) => here + (context?.elsewherePerHour ?? 0))
          .catch((error: unknown) => oneLine(error))
      : 0;
    const ids: string[] = [];
    for (const spec of instances) {
      const pool = poolIdOf(owner.project, 'aws', spec);
      const mine = live.filter((instance) => instance.pool === pool);
      ids.push(...mine.map((instance) => instance.id));
      const layout = instanceLayout(spec, (await this.typeInfo(spec.type ?? DEFAULT_INSTANCE_TYPE, this.options.region)).vcpus);
      const missing = layout.count - mine.length;
      if (missing <= 0) continue;
      if (!cap) {
        ids.push(...(await this.launch(spec, pool, layout.cpusEach, missing, owner)));
        continue;
      }
      // The cap is checked at the price of the entry's first choice; a fallback type or region may cost more.
      const [first] = this.choicesOf(spec);
      const next =
        typeof perHour === 'number'
          ? await this.pricesIn(this.options.region)
              .price(first!.type, first!.market)
              .catch((error: unknown) => oneLine(error))
          : perHour;
      if (typeof perHour !== 'number' || typeof next !== 'number') {
        this.capLine(
          spec,
          pool,
          `max_hourly_cost $${money(cap)}/h cannot be checked (${typeof perHour === 'number' ? String(next) : perHour}); no instance launched`,
        );
        continue;
      }
      const decision = hourlyCapDecision(perHour, next, missing, cap);
      if (decision.launch > 0) ids.push(...(await this.launch(spec, pool, layout.cpusEach, decision.launch, owner)));
      perHour += decision.launch * next;
      if (decision.line) this.capLine(spec, pool, decision.line);
      else this.capLines.delete(pool);
    }
    return ids;
  }

  /** A `max_hourly_cost` line: shown with the pool's waiting jobs, and logged when it changes. */
  private capLine(spec: InstanceSpec, pool: string, line: string): void {
    this.notes.set(pool, line);
    if (this.capLines.get(pool) !== line) this.log(`instances[${spec.group}]: ${line}`);
    this.capLines.set(pool, line);
  }

  private pricesIn(region: string | null): PriceLookup {
    let lookup = this.priceLookups.get(region);
    if (!lookup) {
      lookup = (this.options.prices ?? ((r: string | null) => awsPriceLookup({ region: r, profile: null })))(region);
      this.priceLookups.set(region, lookup);
    }
    return lookup;
  }

  private async priced(instances: readonly LiveInstance[]): Promise<PricedInstance[]> {
    const now = this.now();
    return Promise.all(
      instances.map(async (instance) => ({
        perHour: await this.pricesIn(instance.region).price(instance.type ?? DEFAULT_INSTANCE_TYPE, instance.market ?? 'on-demand'),
        launchedAt: instance.launchedAt ?? now,
      })),
    );
  }

  private async hourlyCostOf(instances: readonly LiveInstance[]): Promise<number> {
    return (await this.priced(instances)).reduce((sum, instance) => sum + instance.perHour, 0);
  }

  /** What the project's live instances in this provider's regions cost per hour. */
  projectHourlyCost(project: string): Promise<number> {
    return this.serialized(async () => this.hourlyCostOf(await this.liveInstances(project)));
  }

  /** The live instances of these pools in this provider's regions, priced, for `max_cost`. */
  instanceCosts(pools: ReadonlySet<string>): Promise<PricedInstance[]> {
    return this.serialized(async () => {
      const live: LiveInstance[] = [];
      for (const region of this.regions()) {
        live.push(
          ...(await this.describe(
            [tagFilter(TAG.cluster, this.options.cluster), { Name: 'instance-state-name', Values: LIVE_STATES }],
            region,
          )),
        );
      }
      const seen = new Set(live.map((instance) => instance.id));
      for (const recent of this.launched.values()) if (!seen.has(recent.id)) live.push(recent);
      return this.priced(live.filter((instance) => instance.pool !== undefined && pools.has(instance.pool)));
    });
  }

  private checkRegions(instances: readonly InstanceSpec[]): void {
    const mine = JSON.stringify(this.regions());
    const other = instances.find((spec) => spec.region !== null && JSON.stringify([spec.region, ...(spec.fallbackRegions ?? [])]) !== mine);
    if (other) {
      const asked = [other.region, ...(other.fallbackRegions ?? [])].join(', ');
      throw new KatapultError(
        'KP_AWS_REGION',
        `instances[${other.group}].region is ${asked} but this AWS provider works in ${this.regions()
          .map((region) => region ?? "the profile's default region")
          .join(', ')}`,
        {
          exitCode: ExitCode.badInput,
          hint: 'each region list is served by its own provider: this is a bug of the coordinator',
        },
      );
    }
  }

  /** Network, security group, instance profile and key pair of a project in a region: made once per provider, reused after. */
  private projectResources(owner: Owner, region: string | null): Promise<ProjectResources> {
    const key = `${owner.project} ${region ?? ''}`;
    let pending = this.resources.get(key);
    if (!pending) {
      pending = (async () => {
        const { ec2, iam } = this.clientsIn(region);
        const network = await resolveNetwork(ec2, owner);
        const securityGroupId = await ensureSecurityGroup(ec2, owner, network.vpcId, this.options.sshCidr);
        const profile = await ensureInstanceProfile(iam, owner, region);
        const keyName = this.options.keyPairFile ? await ensureKeyPair(ec2, owner, this.options.keyPairFile) : null;
        return { subnets: network.subnets, securityGroupId, instanceProfileName: profile.name, keyName };
      })();
      this.resources.set(key, pending);
      pending.catch(() => this.resources.delete(key));
    }
    return pending;
  }

  /** The project's pending and running instances in this cluster, in every region, with those just launched that EC2 does not list yet. */
  private async liveInstances(project: string): Promise<LiveInstance[]> {
    const listed: LiveInstance[] = [];
    for (const region of this.regions()) {
      listed.push(
        ...(await this.describe(
          [
            tagFilter(TAG.cluster, this.options.cluster),
            tagFilter(TAG.project, project),
            { Name: 'instance-state-name', Values: LIVE_STATES },
          ],
          region,
        )),
      );
    }
    const seen = new Set(listed.map((instance) => instance.id));
    const now = this.now();
    for (const [id, recent] of this.launched) {
      if (seen.has(id) || now - recent.at > (this.options.launchGraceMs ?? 120_000)) this.launched.delete(id);
      else if (recent.project === project) listed.push(recent);
    }
    return listed;
  }

  private async describe(filters: Filter[], region: string | null): Promise<LiveInstance[]> {
    const found: LiveInstance[] = [];
    let token: string | undefined;
    do {
      const page = await awsCall({ service: 'EC2', operation: 'DescribeInstances' }, () =>
        this.clientsIn(region).ec2.send(new DescribeInstancesCommand({ Filters: filters, ...(token ? { NextToken: token } : {}) })),
      );
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          if (!instance.InstanceId) continue;
          found.push({
            id: instance.InstanceId,
            region,
            type: instance.InstanceType,
            market: instance.InstanceLifecycle === 'spot' ? 'spot' : 'on-demand',
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

  private async launch(spec: InstanceSpec, pool: string, cpus: number, count: number, owner: Owner): Promise<string[]> {
    const issuer = this.options.credentials;
    if (!issuer) return this.launchRegions(spec, pool, cpus, count, owner, undefined);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const agentId = `aws-${spec.group}-${randomBytes(4).toString('hex')}`;
      const nats = issuer.issue(agentId);
      try {
        ids.push(...(await this.launchRegions(spec, pool, cpus, 1, owner, { id: agentId, user: nats.user, pass: nats.pass })));
      } catch (error) {
        issuer.revoke(agentId);
        throw error;
      }
    }
    return ids;
  }

  /**
   * Launches `count` instances of an entry in the first region of its list where AWS takes one of its choices
   * (launchMarket); a region where every choice is refused passes to the next. A region whose choices were all
   * refused moments ago is not asked again, unless every region was. All refused everywhere is one line.
   */
  private async launchRegions(
    spec: InstanceSpec,
    pool: string,
    cpus: number,
    count: number,
    owner: Owner,
    agentUser: AgentUser | undefined,
  ): Promise<string[]> {
    const regions = this.regions();
    if (regions.length === 1) return this.launchMarket(spec, pool, cpus, count, owner, regions[0]!, false, agentUser);
    const recent = this.refusalsOf(pool);
    const now = this.now();
    const allRefusedRecently = (region: string | null) =>
      this.choicesOf(spec).every(
        ({ market, type }) => now - (recent.get(`${region} ${market} ${type}`)?.at ?? Number.NEGATIVE_INFINITY) < REFUSAL_MEMORY_MS,
      );
    const fresh = regions.filter((region) => !allRefusedRecently(region));
    const order = fresh.length > 0 ? fresh : regions;
    // The regions skipped, with what each of their choices was refused for moments ago.
    const refused: string[] = regions
      .filter((region) => !order.includes(region))
      .flatMap((region) =>
        this.choicesOf(spec).map(
          ({ market, type }) => `${region} ${market} ${type}: ${recent.get(`${region} ${market} ${type}`)?.code ?? 'refused'}`,
        ),
      );
    for (const [index, region] of order.entries()) {
      try {
        return await this.launchMarket(spec, pool, cpus, count, owner, region, true, agentUser, refused);
      } catch (error) {
        if (!(error instanceof RegionRefused)) throw error;
        refused.push(...error.refusals.map((refusal) => `${region} ${refusal}`));
        const next = order[index + 1];
        if (next !== undefined) this.log(`instances[${spec.group}]: AWS refused every choice in ${region}; trying ${next}`);
      }
    }
    this.notes.set(pool, `no instance launched: AWS refused ${refused.join('; ')}`);
    throw new KatapultError(
      'KP_AWS_NO_CAPACITY',
      `instances[${spec.group}]: AWS refused every choice in every region (${regions.join(', ')}): ${refused.join('; ')}`,
      {
        hint: 'add types to instances[].type or regions to instances[].region (lists are tried in order), raise max_bid, or try later',
        exitCode: ExitCode.infrastructure,
      },
    );
  }

  /** Spot of each type first when `eco`, then on-demand of each when `eco_fallback` allows it. */
  private choicesOf(spec: InstanceSpec): { market: Market; type: string }[] {
    const types = candidateTypes(spec);
    const markets: Market[] = spec.eco ? (spec.ecoFallback ? ['spot', 'on-demand'] : ['spot']) : ['on-demand'];
    return markets.flatMap((market) => types.map((type) => ({ market, type })));
  }

  private refusalsOf(pool: string): Map<string, { at: number; code: string }> {
    const recent = this.refusals.get(pool) ?? new Map<string, { at: number; code: string }>();
    this.refusals.set(pool, recent);
    return recent;
  }

  /**
   * Launches `count` instances of an entry in one region, trying its types in order (`type`, then `fallbackTypes`)
   * in each market: spot first when `eco`, then on-demand when `eco_fallback` allows it. A type AWS has no capacity
   * for (or no spot under `max_bid`, or does not offer here) passes to the next; any other error stops. When every
   * choice is refused: with `nextRegion`, a RegionRefused for the next region; else the one refusal of a single
   * choice, or one line naming all of them.
   */
  private async launchMarket(
    spec: InstanceSpec,
    pool: string,
    /** What each agent offers with the entry's first type: the layout's, not always the config's `cpus`. */
    cpus: number,
    count: number,
    owner: Owner,
    region: string | null,
    nextRegion: boolean,
    agentUser: AgentUser | undefined,
    /** Refusals in the regions tried before this one (`region market type: code`). */
    refusedBefore: readonly string[] = [],
  ): Promise<string[]> {
    const types = candidateTypes(spec);
    const all = this.choicesOf(spec);
    // A choice refused moments ago (for the instance before this one) is not asked again, unless all were.
    const recent = this.refusalsOf(pool);
    const key = (choice: { market: Market; type: string }) => `${region} ${choice.market} ${choice.type}`;
    const now = this.now();
    const fresh = all.filter((choice) => now - (recent.get(key(choice))?.at ?? Number.NEGATIVE_INFINITY) >= REFUSAL_MEMORY_MS);
    const choices = fresh.length > 0 ? fresh : all;
    const refused: string[] = [];
    const resources = await this.projectResources(owner, region);
    for (const [index, { market, type }] of choices.entries()) {
      const context = {
        service: 'EC2' as const,
        operation: 'RunInstances',
        instanceType: type,
        maxBid: spec.maxBid,
        ...(region ? { region } : {}),
      };
      const inZones: string[] = [];
      try {
        // Another type may have other vCPUs: an entry without `cpus` offers all of the one launched.
        const cpusOfType = type === types[0] ? cpus : instanceLayout({ ...spec, type }, (await this.typeInfo(type, region)).vcpus).cpusEach;
        const launched = await this.launchInZones(
          spec,
          type,
          market,
          pool,
          cpusOfType,
          count,
          owner,
          region,
          resources,
          agentUser,
          inZones,
        );
        const skipped = all
          .filter((choice) => !choices.includes(choice))
          .map((choice) => `${choice.market} ${choice.type}: ${recent.get(key(choice))?.code ?? 'refused'}`);
        const here = [...skipped, ...refused, ...inZones];
        const where = launched.zone ?? (nextRegion ? region : null);
        const refusedAll = nextRegion ? [...refusedBefore, ...here.map((refusal) => `${region} ${refusal}`)] : here;
        // A note when there was a choice (types, zones or regions): what was taken, where, and what was refused.
        if (all.length > 1 || nextRegion || inZones.length > 0) {
          this.notes.set(
            pool,
            `launched ${market} ${type}${where ? ` in ${where}` : ''}${refusedAll.length > 0 ? ` (refused: ${refusedAll.join('; ')})` : ''}`,
          );
        }
        return launched.ids;
      } catch (error) {
        const refusal = market === 'spot' ? isSpotUnavailable(error) || isTypeUnavailable(error) : isCapacityRefusal(error);
        if (!refusal || (all.length === 1 && !nextRegion)) throw toKatapultError(error, context);
        recent.set(key({ market, type }), { at: this.now(), code: errorName(error) });
        refused.push(`${market} ${type}: ${errorName(error)}`);
        const next = choices[index + 1];
        const why = next && next.market !== market ? ' (eco_fallback)' : '';
        if (next)
          this.log(
            `instances[${spec.group}]: no ${market} ${type}${nextRegion ? ` in ${region}` : ''} (${errorName(error)}); trying ${next.market} ${next.type}${why}`,
          );
      }
    }
    if (nextRegion) throw new RegionRefused(refused);
    this.notes.set(pool, `no instance launched: AWS refused ${refused.join('; ')}`);
    throw new KatapultError(
      'KP_AWS_NO_CAPACITY',
      `instances[${spec.group}]: AWS refused every choice${region ? ` in ${region}` : ''}: ${refused.join('; ')}`,
      {
        hint: 'add types to instances[].type (a list is tried in order), raise max_bid, or try later',
        exitCode: ExitCode.infrastructure,
      },
    );
  }

  /**
   * One choice in each zone of the region in turn: a zone without capacity for it (or not offering the type) passes
   * to the next, each refusal noted in `inZones`; the last zone's refusal, or any other error, is thrown. A zone
   * refused moments ago is tried last.
   */
  private async launchInZones(
    spec: InstanceSpec,
    type: string,
    market: Market,
    pool: string,
    cpus: number,
    count: number,
    owner: Owner,
    region: string | null,
    resources: ProjectResources,
    agentUser: AgentUser | undefined,
    inZones: string[],
  ): Promise<{ ids: string[]; zone: string | undefined }> {
    const recent = this.refusalsOf(pool);
    const key = (subnet: ZoneSubnet) => `${region} ${market} ${type} ${subnet.zone ?? subnet.subnetId}`;
    const now = this.now();
    const refusedLately = (subnet: ZoneSubnet) => now - (recent.get(key(subnet))?.at ?? Number.NEGATIVE_INFINITY) < REFUSAL_MEMORY_MS;
    const zones = [...resources.subnets.filter((subnet) => !refusedLately(subnet)), ...resources.subnets.filter(refusedLately)];
    for (const [index, subnet] of zones.entries()) {
      try {
        const launched = await this.launchType(spec, type, market, pool, cpus, count, owner, region, resources, subnet.subnetId, agentUser);
        // The zones not asked because they refused moments ago are refusals too.
        for (const skipped of zones.slice(index + 1).filter(refusedLately))
          inZones.push(`${market} ${type} in ${skipped.zone ?? skipped.subnetId}: ${recent.get(key(skipped))?.code ?? 'refused'}`);
        return launched;
      } catch (error) {
        const next = zones[index + 1];
        if (!next || !isCapacityRefusal(error)) throw error;
        recent.set(key(subnet), { at: this.now(), code: errorName(error) });
        inZones.push(`${market} ${type} in ${subnet.zone ?? subnet.subnetId}: ${errorName(error)}`);
        this.log(
          `instances[${spec.group}]: no ${market} ${type} in ${subnet.zone ?? subnet.subnetId} (${errorName(error)}); trying ${next.zone ?? next.subnetId}`,
        );
      }
    }
    throw new Error('no subnet to launch in');
  }

  /** One RunInstances for `count` instances of one type in one market, region and subnet. */
  private async launchType(
    spec: InstanceSpec,
    type: string,
    market: Market,
    pool: string,
    cpus: number,
    count: number,
    owner: Owner,
    region: string | null,
    resources: ProjectResources,
    subnetId: string,
    agentUser: AgentUser | undefined,
  ): Promise<{ ids: string[]; zone: string | undefined }> {
    const image = await this.image(spec.imgId, type, region);
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
      subnetId,
      securityGroupId: resources.securityGroupId,
      instanceProfileName: resources.instanceProfileName,
      keyName: resources.keyName,
      userData,
      agentId: agentUser?.id,
      clientToken: this.newToken(),
      now: new Date(this.now()),
    };
    return this.runInstances(input, region);
  }

  private async runInstances(input: LaunchInput, region: string | null): Promise<{ ids: string[]; zone: string | undefined }> {
    for (let attempt = 1; ; attempt++) {
      try {
        const started = await this.clientsIn(region).ec2.send(
          new RunInstancesCommand(runInstancesInput(attempt === 1 ? input : { ...input, clientToken: this.newToken() })),
        );
        const ids = (started.Instances ?? []).map((instance) => instance.InstanceId).filter((id): id is string => Boolean(id));
        const at = this.now();
        const type = input.instanceType ?? input.spec.type ?? DEFAULT_INSTANCE_TYPE;
        for (const id of ids)
          this.launched.set(id, {
            id,
            region,
            type,
            market: input.market,
            pool: input.pool,
            project: input.owner.project,
            at,
            launchedAt: at,
          });
        this.log(
          `instances[${input.spec.group}]: launched ${input.market} ${input.instanceType ?? input.spec.type ?? DEFAULT_INSTANCE_TYPE} ${ids.join(', ')}${this.regions().length > 1 ? ` in ${region}` : ''}`,
        );
        return { ids, zone: started.Instances?.[0]?.Placement?.AvailabilityZone };
      } catch (error) {
        // A new instance profile takes a few seconds to reach EC2: "Invalid IAM Instance Profile name".
        const propagating =
          errorName(error) === 'InvalidParameterValue' && /iam ?instance ?profile/i.test(error instanceof Error ? error.message : '');
        if (!propagating || attempt >= PROFILE_ATTEMPTS) throw error;
        await this.sleep(attempt * 2_000);
      }
    }
  }

  private image(imgId: string | null, type: string, region: string | null): Promise<ResolvedImage> {
    const key = `${region ?? ''} ${imgId ?? `debian:${type}`}`;
    let pending = this.images.get(key);
    if (!pending) {
      pending = this.typeInfo(type, region).then((info) => resolveImage(this.clientsIn(region).ec2, imgId, type, info));
      this.images.set(key, pending);
      pending.catch(() => this.images.delete(key));
    }
    return pending;
  }

  private typeInfo(type: string, region: string | null): Promise<InstanceTypeInfo> {
    const key = `${region ?? ''} ${type}`;
    let pending = this.types.get(key);
    if (!pending) {
      pending = describeInstanceType(this.clientsIn(region).ec2, type);
      this.types.set(key, pending);
      pending.catch(() => this.types.delete(key));
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
