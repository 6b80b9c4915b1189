import Type, { type Static, type TSchema } from 'typebox';

/**
 * The schema of katapult.yaml. Keys are the original Python tool's, snake_case, so its configs carry over;
 * `null` is accepted wherever the original accepted None. New keys (`name` on a job, `retries`, `registry`)
 * extend it without changing the meaning of the old ones.
 */
const nullable = <T extends TSchema>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]));
const stringOrList = Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }))]);

export const NamePattern = '^[a-zA-Z0-9][a-zA-Z0-9_-]*$';
const name = Type.String({ pattern: NamePattern, maxLength: 63 });
/** A size such as `512m` or `2g`, or bytes; checked by parseMemory with the other rules. */
/** A variable a job's container gets: a shell name, and a value YAML may have read as a number or a boolean. */
export const EnvNamePattern = '^[A-Za-z_][A-Za-z0-9_]*$';
const envMap = nullable(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])));
const memory = nullable(Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 0 })]));

export const InstanceSchema = Type.Object(
  {
    /** An AWS region, or a list tried in order when every type of one is refused (new). */
    region: nullable(Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 10 })])),
    cloud_id: nullable(Type.String()),
    img_id: nullable(Type.String()),
    img_username: nullable(Type.String()),
    /** An instance type, or a list tried in order when AWS has no capacity for one (new). */
    type: nullable(Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 10 })])),
    cpus: nullable(Type.Integer({ minimum: 1 })),
    gpu: nullable(Type.String()),
    /** GPUs each instance offers to jobs (new); default 1 when `gpu` is set, else 0. */
    gpus: nullable(Type.Integer({ minimum: 0, maximum: 64 })),
    disk_size: nullable(Type.Integer({ minimum: 1 })),
    disk_type: nullable(Type.String()),
    eco: nullable(Type.Boolean()),
    eco_life: nullable(Type.Union([Type.String(), Type.Number()])),
    /** With `eco: true`, launch on-demand when spot has no capacity or `max_bid` is below the spot price (new; default true). */
    eco_fallback: nullable(Type.Boolean()),
    max_bid: nullable(Type.Number({ exclusiveMinimum: 0 })),
    number: nullable(Type.Integer({ minimum: 1, maximum: 1000 })),
    explode: nullable(Type.Boolean()),
    /** Memory the instance offers to jobs (new); a job without its own `memory` gets its cpus' share. */
    memory,
  },
  { additionalProperties: false },
);

export const EnvironmentSchema = Type.Object(
  {
    name: nullable(name),
    /** An image of one's own to build on instead of the Debian base (new): any reference a registry serves. */
    image: nullable(Type.String({ minLength: 1, maxLength: 512 })),
    command: nullable(Type.String({ minLength: 1 })),
    env_aptget: nullable(stringOrList),
    env_conda: nullable(stringOrList),
    env_conda_channels: nullable(stringOrList),
    env_pypi: nullable(stringOrList),
    env_julia: nullable(stringOrList),
  },
  { additionalProperties: false },
);

export const JobSchema = Type.Object(
  {
    name: nullable(name),
    env_name: nullable(name),
    cpus_req: nullable(Type.Integer({ minimum: 1 })),
    /** GPUs the job needs (new; default 0), given to its container by the NVIDIA runtime. */
    gpus_req: nullable(Type.Integer({ minimum: 0, maximum: 64 })),
    run_script: nullable(Type.String({ minLength: 1 })),
    run_command: nullable(Type.String({ minLength: 1 })),
    upload_files: nullable(stringOrList),
    input_files: nullable(stringOrList),
    output_files: nullable(stringOrList),
    repeat: nullable(Type.Integer({ minimum: 1, maximum: 10_000 })),
    retries: nullable(Type.Integer({ minimum: 0, maximum: 100 })),
    /** The exit codes `retries` are for (new); any other non-zero exit fails the job at once. Default: every one. */
    retry_on_exit_codes: nullable(Type.Array(Type.Integer({ minimum: 1, maximum: 255 }), { minItems: 1 })),
    /** The memory limit of the job's container (new). */
    memory,
    /** `none`: no network at all; `host`: the machine's; default `bridge`, Docker's own network (new). */
    network: nullable(Type.Union([Type.Literal('bridge'), Type.Literal('none'), Type.Literal('host')])),
    /** The longest the job may run, as `eco_life` takes it (new): past it the container is killed and the job fails. */
    timeout: nullable(Type.Union([Type.String({ minLength: 1 }), Type.Number()])),
    /** Variables of this job's container (new); they win over the top-level `env`. */
    env: envMap,
    /** Jobs (by name) that must all be done before this one starts (new); one that fails skips it. */
    after: nullable(Type.Array(name)),
    /** Jobs (by name) whose output files are staged into this one's work folder (new); it runs after them. */
    inputs_from: nullable(Type.Array(name)),
    /** Variables whose values come from the launching machine, never from the config (new), beside the top-level ones. */
    secrets: nullable(Type.Array(Type.String({ minLength: 1, maxLength: 256 }))),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    project: nullable(name),
    profile: nullable(Type.String()),
    dev: nullable(Type.Boolean()),
    debug: nullable(Type.Integer({ minimum: 0, maximum: 3 })),
    maestro: nullable(Type.Union([Type.Literal('local'), Type.Literal('remote')])),
    /** With `provider: aws` and `maestro: local`: the host name or IP (and optional port) at which instances reach this machine's NATS (new). */
    maestro_address: nullable(Type.String({ minLength: 1, maxLength: 253 })),
    /** With `maestro: remote`: the instance type of the maestro (new; default t3.small). */
    maestro_type: nullable(Type.String({ minLength: 1, maxLength: 64 })),
    /** With `maestro: remote`: the maestro's AMI (new; default the latest Debian 12 of its type's architecture). */
    maestro_img_id: nullable(Type.String({ minLength: 1, maxLength: 64 })),
    /** With `maestro: remote`: the address range allowed to reach the maestro's NATS and API, e.g. your IP/32 (new; required). */
    maestro_cidr: nullable(Type.String({ minLength: 1, maxLength: 43 })),
    /** `true` (after 60 s with no work), `false`, or the idle seconds before instances are stopped. */
    auto_stop: nullable(Type.Union([Type.Boolean(), Type.Integer({ minimum: 0, maximum: 86_400 })])),
    /** Attempts a job may take in all when its instance is lost (new). */
    max_attempts: nullable(Type.Integer({ minimum: 1, maximum: 100 })),
    /** Dollars per hour the project's running instances may cost together: no instance is launched past it (new). */
    max_hourly_cost: nullable(Type.Number({ exclusiveMinimum: 0 })),
    /** Dollars a run's instances may cost: once reached, the run is stopped (new). */
    max_cost: nullable(Type.Number({ exclusiveMinimum: 0 })),
    provider: nullable(Type.Union([Type.Literal('local'), Type.Literal('aws')])),
    job_assign: nullable(Type.Union([Type.Literal('random'), Type.Literal('multi_knapsack')])),
    recover: nullable(Type.Boolean()),
    print_deploy: nullable(Type.Boolean()),
    mutualize_uploads: nullable(Type.Boolean()),
    /** Lets jobs ask for `network: host` (new; default false): such a job shares this machine's network, 127.0.0.1 included. */
    allow_host_network: nullable(Type.Boolean()),
    registry: nullable(Type.String({ minLength: 1 })),
    /** Variables every job's container gets (new); a job's own `env` wins. */
    env: envMap,
    /** Variables every job gets whose values come from this machine's environment or --secrets-file (new). */
    secrets: nullable(Type.Array(Type.String({ minLength: 1, maxLength: 256 }))),
    instances: nullable(Type.Array(InstanceSchema)),
    environments: nullable(Type.Array(EnvironmentSchema)),
    jobs: Type.Array(JobSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export type RawConfig = Static<typeof ConfigSchema>;
export type RawInstance = Static<typeof InstanceSchema>;
export type RawEnvironment = Static<typeof EnvironmentSchema>;
export type RawJob = Static<typeof JobSchema>;
