// The port between the coordinator and where its agents come from (the local Docker provider, EC2): types only.
import type { PricedInstance } from '../model/cost-cap.js';
import type { Pool } from '../model/pools.js';
import type { InstanceSpec, ProviderName } from '../model/run-spec.js';
import type { NatsUser } from '../protocol/nats-users.js';

/** Where a run's instances come from and how they reach back: kept with the run, so a restarted coordinator knows. */
export interface RunPlacement {
  provider: ProviderName;
  /** AWS profile for the provider's clients (null: the SDK's default chain). */
  profile: string | null;
  /** The agent image the instances pull; null: the coordinator's own (the local provider). */
  agentImage: string | null;
  /** `maestro_address`: where instances reach this machine's NATS. */
  maestroAddress: string | null;
}

/** What `ensure` is asking for: the run whose instances these are (the AWS provider tags what it creates with them). */
export interface EnsureContext {
  project: string;
  runId: string;
  /** Missing for runs stored before placements were kept: those ran on the local provider. */
  placement?: RunPlacement;
  /** `max_hourly_cost`: no instance is launched that would take the project's instances past it ($/h). */
  maxHourlyCost?: number;
  /** With `maxHourlyCost`: what the project's instances that other providers run cost ($/h), counted with this one's. */
  elsewherePerHour?: number;
}

/** Where agents come from. The coordinator asks for instances; the provider makes sure they exist. */
export interface Provider {
  readonly name: string;
  /**
   * Starts whatever instances are missing for these specs, each one pool (poolIdOf of the context's project) of
   * `number` instances; leaves running ones alone. Returns agent ids.
   */
  ensure(instances: readonly InstanceSpec[], context: EnsureContext): Promise<string[]>;
  /** Stops and removes the instances of one pool (of the context's run); returns the agent ids that were stopped. */
  stopPool(pool: Pool, context: EnsureContext): Promise<string[]>;
  /**
   * Makes sure an agent taken for lost runs nothing any more: its instance, and every job container it started,
   * are gone (or going, past recall: EC2's terminate). The coordinator requeues the agent's jobs only once this
   * resolved, so a stalled agent (paused, cut off) cannot finish an attempt that runs again elsewhere.
   * `instances` and `context` are those of a run the agent served. A provider without it cannot reach its
   * instances; their jobs are requeued unfenced.
   */
  fence?(agentId: string, instances: readonly InstanceSpec[], context: EnsureContext): Promise<void>;
  /** Throws when this provider can never serve the placement, so a run is refused before anything of it is stored. */
  check?(placement: RunPlacement): void;
  /** Stops and removes every instance this provider started. */
  terminateAll(): Promise<string[]>;
  /**
   * Terminates this coordinator's instances that belong to no pool in `knownPools` (the pools of every stored run)
   * and are older than a grace period: left by a lost state, or by a run no longer stored. Returns their ids.
   */
  terminateOrphans?(knownPools: ReadonlySet<string>): Promise<string[]>;
  /** What the last launch for a pool chose, when it had a choice (a `type` list): shown with the run's waiting jobs. */
  launchNote?(pool: string): string | undefined;
  /**
   * The live instances of these pools with their hourly price and launch time, for `max_cost`; rejects with a
   * one-line reason when a price cannot be had. A provider whose instances cost nothing has none.
   */
  instanceCosts?(pools: ReadonlySet<string>): Promise<PricedInstance[]>;
  /** What the project's live instances this provider runs cost per hour ($), for `max_hourly_cost`. */
  projectHourlyCost?(project: string): Promise<number>;
}

/** Makes the AWS provider for one placement (its profile, region list, agent image and NATS address). */
export type AwsProviderFactory = (placement: RunPlacement, region: string | null, fallbackRegions: readonly string[]) => Provider;

/** Issues each agent its own NATS user, limited to its own subjects (see agentPermissions). */
export interface AgentCredentialIssuer {
  issue(agentId: string): NatsUser;
  revoke(agentId: string): void;
}
