import Type, { type Static } from 'typebox';
import { RunSpecSchema } from '../model/run-spec.js';
import { JobOutputsSchema } from './messages.js';

/** Request and response schemas of the coordinator's HTTP API, shared by its routes and the CLI's client. */
const nullableNumber = Type.Union([Type.Number(), Type.Null()]);
const nullableString = Type.Union([Type.String(), Type.Null()]);

export const ErrorBodySchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  path: Type.Optional(Type.String()),
  hint: Type.Optional(Type.String()),
});

export const CreateRunRequestSchema = Type.Object({
  spec: RunSpecSchema,
  /** The config file the run came from, as the user named it (shown in status). */
  configFile: Type.String({ maxLength: 4096 }),
  /** Image reference for each environment name. */
  images: Type.Record(Type.String(), Type.String({ minLength: 1 })),
  /**
   * The values of the secrets the jobs name (JobSpec.secrets), from the submitter's machine. The coordinator
   * keeps them sealed, sends each attempt only its own, sealed for its agent, and shows them nowhere.
   */
  secrets: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), Type.String({ maxLength: 65_536 }))),
  /** The agent image instances pull when they cannot use the coordinator's own (AWS: pushed to the run's registry). */
  agentImage: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  /** Each project file the jobs name (normalized relative path), already put in the cluster's object store. */
  files: Type.Record(
    Type.String(),
    Type.Object({
      object: Type.String({ pattern: '^sha256-[0-9a-f]{64}$' }),
      size: Type.Integer({ minimum: 0 }),
      executable: Type.Boolean(),
    }),
  ),
});
export type CreateRunRequest = Static<typeof CreateRunRequestSchema>;

const JobStateSchema = Type.Union([
  Type.Literal('blocked'),
  Type.Literal('pending'),
  Type.Literal('assigned'),
  Type.Literal('pulling'),
  Type.Literal('running'),
  Type.Literal('done'),
  Type.Literal('failed'),
  Type.Literal('aborted'),
  Type.Literal('skipped'),
]);

export const JobViewSchema = Type.Object({
  id: Type.String(),
  runId: Type.String(),
  envName: Type.String(),
  state: JobStateSchema,
  attempt: Type.Integer(),
  agentId: nullableString,
  /** The pool of the agent it last ran on (`<project>/<hash>`). */
  pool: Type.Optional(nullableString),
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
  reason: nullableString,
  message: nullableString,
  /** Why a pending job is not placed yet, as the scheduler last saw it (`needs 2 cpus; pool p/1a2b3c4d has 0 free of 2`). */
  waiting: Type.Optional(nullableString),
  outputFiles: Type.Array(Type.String()),
  outputs: Type.Union([JobOutputsSchema, Type.Null()]),
  /** How each ended attempt ended, oldest first (`reason` as the job's own); absent from coordinators before it. */
  attempts: Type.Optional(
    Type.Array(
      Type.Object({
        attempt: Type.Integer(),
        agentId: nullableString,
        reason: Type.String(),
        exitCode: Type.Union([Type.Integer(), Type.Null()]),
      }),
    ),
  ),
  createdAt: Type.Number(),
  /** When the current attempt was given to its agent, and when that agent began getting its image (the timeline). */
  assignedAt: Type.Optional(nullableNumber),
  pullingAt: Type.Optional(nullableNumber),
  startedAt: nullableNumber,
  finishedAt: nullableNumber,
  /** The cpus it holds while it runs. */
  cpus: Type.Optional(Type.Integer()),
});
export type JobView = Static<typeof JobViewSchema>;

export const RunViewSchema = Type.Object({
  id: Type.String(),
  project: Type.String(),
  configFile: Type.String(),
  state: Type.Union([Type.Literal('running'), Type.Literal('done'), Type.Literal('failed'), Type.Literal('aborted')]),
  createdAt: Type.Number(),
  finishedAt: nullableNumber,
  /** The pools its jobs are placed on, one per distinct `instances` entry (`<project>/<hash>`). */
  pools: Type.Optional(Type.Array(Type.String())),
  /** Why the coordinator stopped it, when it did (`max_cost` reached); absent otherwise. */
  stopReason: Type.Optional(Type.String()),
  jobs: Type.Array(JobViewSchema),
});
export type RunView = Static<typeof RunViewSchema>;

/** `GET /runs/summary`: every run without its jobs, only how many are in each state (what the dashboard polls). */
export const RunSummarySchema = Type.Object({
  id: Type.String(),
  project: Type.String(),
  configFile: Type.String(),
  state: RunViewSchema.properties.state,
  createdAt: Type.Number(),
  finishedAt: nullableNumber,
  pools: Type.Optional(Type.Array(Type.String())),
  stopReason: Type.Optional(Type.String()),
  /** Jobs in each state (only the states some job is in). */
  counts: Type.Record(Type.String(), Type.Integer()),
});
export type RunSummary = Static<typeof RunSummarySchema>;

/** `GET /runs/:runId/jobs`: one page of a run's jobs, in config order, optionally of one state. */
export const JobPageQuerySchema = Type.Object({
  offset: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'jobs to skip' })),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,5}$', description: 'jobs in the page, at most 10000 (default 500)' })),
  state: Type.Optional(JobStateSchema),
});
export type JobPageQuery = Static<typeof JobPageQuerySchema>;

export const JobPageSchema = Type.Object({
  runId: Type.String(),
  /** Jobs matching the query in all; the page holds those from `offset`. */
  total: Type.Integer(),
  offset: Type.Integer(),
  jobs: Type.Array(JobViewSchema),
  /** Jobs in each state, over the whole run. */
  counts: Type.Record(Type.String(), Type.Integer()),
});
export type JobPage = Static<typeof JobPageSchema>;

export const AgentViewSchema = Type.Object({
  agentId: Type.String(),
  instanceId: Type.String(),
  /** The cloud's instance type; null for local agents. */
  instanceType: nullableString,
  /** The pool the agent serves (`<project>/<hash>`); null for an agent from before pools. */
  pool: nullableString,
  cpus: Type.Integer(),
  usedCpus: Type.Integer(),
  gpus: Type.Integer(),
  usedGpus: Type.Integer(),
  heartbeatAgeMs: Type.Number(),
  running: Type.Array(Type.String()),
});
export type AgentView = Static<typeof AgentViewSchema>;

export const CreateRunResponseSchema = Type.Object({
  runId: Type.String(),
  jobs: Type.Integer(),
  /** True when the same submission was already running (`recover`): its run is returned, nothing new starts. */
  resumed: Type.Boolean(),
});
export type CreateRunResponse = Static<typeof CreateRunResponseSchema>;

export const CancelRunRequestSchema = Type.Object({
  /** The jobs to cancel; every unfinished job of the run when absent. */
  jobs: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 80 }), { maxItems: 100_000 })),
});
export type CancelRunRequest = Static<typeof CancelRunRequestSchema>;

export const CancelRunResponseSchema = Type.Object({
  runId: Type.String(),
  cancelled: Type.Array(Type.String()),
  /** Jobs that had already ended by themselves, so were left as they were. */
  alreadyOver: Type.Array(Type.String()),
});
export type CancelRunResponse = Static<typeof CancelRunResponseSchema>;

/**
 * What the WebSocket `GET /runs/:runId/jobs/:jobId/logs/ws` sends, one JSON object per frame: the job's stored
 * lines and end-of-attempt records in order, then new ones as they are stored; `error` comes just before a close.
 */
export const LogSocketMessageSchema = Type.Union([
  Type.Object({
    type: Type.Literal('line'),
    attempt: Type.Integer(),
    stream: Type.Union([Type.Literal('stdout'), Type.Literal('stderr')]),
    line: Type.String(),
    at: Type.Number(),
  }),
  Type.Object({
    type: Type.Literal('end'),
    attempt: Type.Integer(),
    exitCode: Type.Union([Type.Integer(), Type.Null()]),
    at: Type.Number(),
  }),
  Type.Object({ type: Type.Literal('error'), code: Type.String(), message: Type.String() }),
]);
export type LogSocketMessage = Static<typeof LogSocketMessageSchema>;
