import Type from 'typebox';
import type { JobRecord } from '../lifecycle/job.js';
import type { RunRecord } from '../lifecycle/run-record.js';
import { readBack, type ReadBack } from './read-back.js';

/**
 * The run and job records of the coordinator's KV buckets, as far as the coordinator relies on them to schedule and
 * to answer the API: a record that lacks them (written by hand, by another version) is skipped and logged, not
 * taken into the view. Fields added over time are optional here as on the interfaces (RunRecord, JobRecord), and
 * nested values are checked for their shape only: every record the coordinator watches goes through this.
 */
const nullableNumber = Type.Union([Type.Number(), Type.Null()]);
const nullableString = Type.Union([Type.String(), Type.Null()]);
const nullableInteger = Type.Union([Type.Integer(), Type.Null()]);

const JobStateSchema = Type.Union(
  ['blocked', 'pending', 'assigned', 'pulling', 'running', 'done', 'failed', 'aborted', 'skipped'].map((state) => Type.Literal(state)),
);

export const JobRecordSchema = Type.Object({
  runId: Type.String({ minLength: 1 }),
  id: Type.String({ minLength: 1 }),
  index: Type.Integer({ minimum: 0 }),
  envName: Type.String(),
  image: Type.String(),
  runCommand: Type.String(),
  files: Type.Array(Type.Object({ path: Type.String(), object: Type.String() })),
  outputFiles: Type.Array(Type.String()),
  outputs: Type.Union([Type.Object({ object: nullableString, missing: Type.Array(Type.String()) }), Type.Null()]),
  cpusReq: Type.Number({ minimum: 0 }),
  gpusReq: Type.Optional(Type.Integer({ minimum: 0 })),
  memoryBytes: nullableNumber,
  network: Type.String(),
  env: Type.Optional(Type.Record(Type.String(), Type.String())),
  after: Type.Optional(Type.Array(Type.String())),
  secrets: Type.Optional(Type.Array(Type.String())),
  retries: Type.Integer({ minimum: 0 }),
  history: Type.Optional(Type.Array(Type.Object({ attempt: Type.Integer(), reason: Type.String() }))),
  maxAttempts: Type.Integer({ minimum: 1 }),
  state: JobStateSchema,
  attempt: Type.Integer({ minimum: 0 }),
  agentId: nullableString,
  pool: Type.Optional(nullableString),
  exitCode: nullableInteger,
  reason: nullableString,
  message: nullableString,
  createdAt: Type.Number(),
  assignedAt: nullableNumber,
  pullingAt: Type.Optional(nullableNumber),
  startedAt: nullableNumber,
  finishedAt: nullableNumber,
});

export const RunRecordSchema = Type.Object({
  id: Type.String({ minLength: 1 }),
  project: Type.String(),
  configFile: Type.String(),
  jobAssign: Type.String(),
  state: Type.Union(['running', 'done', 'failed', 'aborted'].map((state) => Type.Literal(state))),
  fingerprint: Type.String(),
  instances: Type.Array(
    Type.Object({ group: Type.Integer({ minimum: 0 }), cpus: Type.Integer({ minimum: 1 }), number: Type.Integer({ minimum: 1 }) }),
  ),
  autoStopSeconds: nullableNumber,
  maxHourlyCost: Type.Optional(nullableNumber),
  maxCost: Type.Optional(nullableNumber),
  stopReason: Type.Optional(Type.String()),
  placement: Type.Optional(Type.Object({ provider: Type.String() })),
  secrets: Type.Optional(Type.String()),
  createdAt: Type.Number(),
  finishedAt: nullableNumber,
});

/**
 * The checks the store reads its buckets with. Typed as the records they admit: what they check is what scheduling and
 * the API read without looking (states, attempts, counts, times); nested values the jobs' own code reads are of shape.
 */
export const storeRecords = {
  run: readBack(RunRecordSchema, 'KP_STORE_RECORD') as unknown as ReadBack<RunRecord>,
  job: readBack(JobRecordSchema, 'KP_STORE_RECORD') as unknown as ReadBack<JobRecord>,
};
