import Type, { type Static } from 'typebox';
import { NamePattern } from '../config/schema.js';

/**
 * The canonical, defaulted form of a config (camelCase, no nulls): what the rest of Katapult works from.
 * It is a schema as well as a type because it crosses HTTP when the CLI submits a run.
 */
const name = Type.String({ pattern: NamePattern, maxLength: 80 });
const strings = Type.Array(Type.String());
const nullableString = Type.Union([Type.String(), Type.Null()]);

/** `bridge` is Docker's default network, what jobs always had; `none` cuts the job off; `host` shares the machine's. */
export const JobNetworkSchema = Type.Union([Type.Literal('bridge'), Type.Literal('none'), Type.Literal('host')]);
export type JobNetwork = Static<typeof JobNetworkSchema>;

export const InstanceSpecSchema = Type.Object({
  /** Index of the `instances` entry this came from. */
  group: Type.Integer({ minimum: 0 }),
  /** The instance type (the first of the config's list). */
  type: nullableString,
  /** The rest of a `type` list, tried in order when AWS has no capacity for the ones before (absent: none). */
  fallbackTypes: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  cpus: Type.Integer({ minimum: 1 }),
  /** Whether the config gave `cpus`; when not, a local instance has this machine's cores and an EC2 one its type's vCPUs. */
  cpusGiven: Type.Boolean(),
  // As the config file caps it: the API takes no more from any client.
  number: Type.Integer({ minimum: 1, maximum: 1000 }),
  eco: Type.Boolean(),
  ecoLife: Type.Union([Type.String(), Type.Number(), Type.Null()]),
  /** With `eco`, fall back to on-demand when spot cannot be had (no capacity, `max_bid` too low). */
  ecoFallback: Type.Boolean(),
  maxBid: Type.Union([Type.Number(), Type.Null()]),
  /** The AWS region (the first of the config's list). */
  region: nullableString,
  /** The rest of a `region` list, tried in order when AWS refuses every type in the ones before (absent: none). */
  fallbackRegions: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  imgId: nullableString,
  gpu: nullableString,
  /** GPUs offered to jobs (`gpus`, default 1 with a `gpu`); absent on instances stored before GPUs were counted: 0. */
  gpus: Type.Optional(Type.Integer({ minimum: 0 })),
  diskSize: Type.Union([Type.Integer(), Type.Null()]),
  diskType: nullableString,
  explode: Type.Boolean(),
  /** Memory offered to jobs; null: not said (a job without its own limit then has none). */
  memoryBytes: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
});

export const EnvironmentSpecSchema = Type.Object({
  name,
  /** The image it is built on (`image`); absent: the Debian base image. */
  image: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  command: nullableString,
  aptget: strings,
  conda: strings,
  condaChannels: strings,
  pypi: strings,
  julia: strings,
});

export const JobSpecSchema = Type.Object({
  /** Unique within a run: the job's name, suffixed with `-<n>` for each copy when `repeat` > 1. */
  id: name,
  envName: name,
  cpusReq: Type.Integer({ minimum: 1 }),
  /** GPUs the job needs; 0: none, and its container gets no device. */
  gpusReq: Type.Integer({ minimum: 0 }),
  runCommand: nullableString,
  runScript: nullableString,
  uploadFiles: strings,
  inputFiles: strings,
  outputFiles: strings,
  /** Extra attempts after a non-zero exit. */
  retries: Type.Integer({ minimum: 0 }),
  /** The exit codes those retries are for; null or absent: any non-zero one. */
  retryOnExitCodes: Type.Optional(Type.Union([Type.Array(Type.Integer({ minimum: 1, maximum: 255 })), Type.Null()])),
  /** The container's memory limit; null: its share of its instance's memory, if the instance gives one. */
  memoryBytes: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  network: JobNetworkSchema,
  /** The container's own variables: the config's `env`, the job's winning. Absent from clients before it: none. */
  env: Type.Optional(Type.Record(Type.String(), Type.String())),
  /** Which copy of a `repeat` this is (0..copyCount-1), and how many copies there are; absent: 0 of 1. */
  copyIndex: Type.Optional(Type.Integer({ minimum: 0 })),
  copyCount: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Ids of the jobs that must all be done before this one becomes pending; absent: none. */
  after: Type.Optional(Type.Array(name)),
  /** Jobs whose output files are staged into this one's work folder, under `dir` ('' : at their own paths). */
  inputsFrom: Type.Optional(Type.Array(Type.Object({ job: name, dir: Type.String({ maxLength: 80 }) }))),
  /** Names of the variables whose values the run was given apart (CreateRunRequest.secrets), never in the spec. */
  secrets: Type.Optional(Type.Array(Type.String())),
  /** Seconds the job's container may run before it is killed and the job fails (`timeout`); null or absent: no limit. */
  timeoutSeconds: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
});

export const RunSpecSchema = Type.Object({
  project: name,
  provider: Type.Union([Type.Literal('local'), Type.Literal('aws')]),
  maestro: Type.Union([Type.Literal('local'), Type.Literal('remote')]),
  /** Where instances reach this machine's NATS (`maestro_address`): a host or IP, with an optional port. */
  maestroAddress: nullableString,
  /** `maestro: remote`: the maestro's instance type (null: the default) and who may reach it (`maestro_cidr`). */
  maestroType: nullableString,
  /** `maestro_img_id`: the maestro's AMI; null: the latest Debian 12. */
  maestroImgId: nullableString,
  maestroCidr: nullableString,
  jobAssign: Type.Union([Type.Literal('random'), Type.Literal('multi_knapsack')]),
  /** Idle seconds after which the instances are stopped; null: never (`auto_stop: false`). */
  autoStopSeconds: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  /** Attempts a job may take in all when its agent is lost. */
  maxAttempts: Type.Integer({ minimum: 1 }),
  /** `max_hourly_cost`: $/h the project's running instances may cost together; null or absent: no cap. */
  maxHourlyCost: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.Null()])),
  /** `max_cost`: $ the run's instances may cost before the run is stopped; null or absent: no cap. */
  maxCost: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.Null()])),
  recover: Type.Boolean(),
  mutualizeUploads: Type.Boolean(),
  /** `allow_host_network`: jobs may have `network: host`; absent (older submissions): false. */
  allowHostNetwork: Type.Optional(Type.Boolean()),
  registry: nullableString,
  /** AWS profile (credentials and region) for the AWS provider and ECR. */
  profile: nullableString,
  instances: Type.Array(InstanceSpecSchema, { minItems: 1 }),
  environments: Type.Array(EnvironmentSpecSchema, { minItems: 1 }),
  jobs: Type.Array(JobSpecSchema, { minItems: 1 }),
});

export type InstanceSpec = Static<typeof InstanceSpecSchema>;
export type EnvironmentSpec = Static<typeof EnvironmentSpecSchema>;
export type JobSpec = Static<typeof JobSpecSchema>;
export type RunSpec = Static<typeof RunSpecSchema>;
export type ProviderName = RunSpec['provider'];
export type JobAssignPolicy = RunSpec['jobAssign'];

export const DEFAULT_ENVIRONMENT = 'default';
export const DEFAULT_PROJECT = 'katapult';
/** An `instances` entry on AWS without `type`. */
export const DEFAULT_AWS_INSTANCE_TYPE = 't3.micro';
export const DEFAULT_AUTO_STOP_SECONDS = 60;
export const DEFAULT_MAX_ATTEMPTS = 3;
