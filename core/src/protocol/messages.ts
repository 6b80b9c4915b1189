import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { NamePattern } from '../config/schema.js';

/**
 * Every message on NATS has a schema and a version `v`. Messages about a job carry (runId, jobId, attempt),
 * which is how stale reports from an earlier attempt are told apart. Decoding never throws on bad input from
 * the wire: a malformed message yields an error result, to be logged and dropped.
 */
const id = Type.String({ pattern: NamePattern, maxLength: 80 });
const runId = Type.String({ pattern: '^r-[a-z0-9-]+$', maxLength: 64 });

/** A project file staged into a job's work folder; `object` names its content in the cluster's object store. */
export const StagedFileSchema = Type.Object({
  path: Type.String({ minLength: 1, maxLength: 1024 }),
  object: Type.String({ pattern: '^sha256-[0-9a-f]{64}$' }),
  size: Type.Integer({ minimum: 0 }),
  executable: Type.Boolean(),
  /** Shared by the run's jobs (`mutualize_uploads`): staged read-only. Otherwise the job's own, writable copy. */
  shared: Type.Boolean(),
});
export type StagedFile = Static<typeof StagedFileSchema>;

/** Where a job attempt's output files went: one tar archive in the object store, and what it lacked. */
export const JobOutputsSchema = Type.Object({
  object: Type.Union([Type.String({ minLength: 1, maxLength: 512 }), Type.Null()]),
  missing: Type.Array(Type.String()),
});
export type JobOutputs = Static<typeof JobOutputsSchema>;

export const AssignmentSchema = Type.Object({
  v: Type.Literal(1),
  runId,
  jobId: id,
  attempt: Type.Integer({ minimum: 1 }),
  image: Type.String({ minLength: 1 }),
  runCommand: Type.String({ minLength: 1 }),
  cpus: Type.Integer({ minimum: 1 }),
  files: Type.Array(StagedFileSchema),
  outputFiles: Type.Array(Type.String({ minLength: 1, maxLength: 1024 })),
});
export type Assignment = Static<typeof AssignmentSchema>;

export const JobReportSchema = Type.Object({
  v: Type.Literal(1),
  runId,
  jobId: id,
  attempt: Type.Integer({ minimum: 1 }),
  agentId: id,
  /** `lost`: the agent gave the attempt up without an outcome (its instance is being taken away); it is requeued. */
  type: Type.Union([Type.Literal('pulling'), Type.Literal('running'), Type.Literal('exited'), Type.Literal('start_failed'), Type.Literal('lost')]),
  exitCode: Type.Optional(Type.Integer()),
  message: Type.Optional(Type.String({ maxLength: 4000 })),
  outputs: Type.Optional(JobOutputsSchema),
  at: Type.Number(),
});
export type JobReport = Static<typeof JobReportSchema>;

/** Sent by the coordinator to an agent still running an attempt that no longer should run (cancelled, or requeued elsewhere). */
export const StopRequestSchema = Type.Object({
  v: Type.Literal(1),
  runId,
  jobId: id,
  attempt: Type.Integer({ minimum: 1 }),
});
export type StopRequest = Static<typeof StopRequestSchema>;

export const AgentRecordSchema = Type.Object({
  v: Type.Literal(1),
  agentId: id,
  instanceId: Type.String({ maxLength: 128 }),
  cpus: Type.Integer({ minimum: 1 }),
  startedAt: Type.Number(),
  at: Type.Number(),
  /** The jobs this agent runs now, so the coordinator can tell which ones an agent it lost was running. */
  running: Type.Array(Type.Object({ runId, jobId: id, attempt: Type.Integer({ minimum: 1 }) })),
});
export type AgentRecord = Static<typeof AgentRecordSchema>;

export const LogRecordSchema = Type.Union([
  Type.Object({
    v: Type.Literal(1),
    attempt: Type.Integer({ minimum: 1 }),
    stream: Type.Union([Type.Literal('stdout'), Type.Literal('stderr')]),
    line: Type.String(),
    at: Type.Number(),
  }),
  Type.Object({ v: Type.Literal(1), attempt: Type.Integer({ minimum: 1 }), eof: Type.Literal(true), exitCode: Type.Union([Type.Integer(), Type.Null()]), at: Type.Number() }),
]);
export type LogRecord = Static<typeof LogRecordSchema>;

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

export interface MessageCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): Decoded<T>;
}

function codec<S extends TSchema>(schema: S, name: string): MessageCodec<Static<S>> {
  const validator = Compile(schema);
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  return {
    encode: (value) => encoder.encode(JSON.stringify(value)),
    decode(bytes) {
      let value: unknown;
      try {
        value = JSON.parse(decoder.decode(bytes));
      } catch {
        return { ok: false, error: `${name}: not JSON` };
      }
      if (validator.Check(value)) return { ok: true, value: value as Static<S> };
      const first = [...validator.Errors(value)][0];
      return { ok: false, error: `${name}: ${first?.instancePath || '/'} ${first?.message ?? 'is invalid'}` };
    },
  };
}

export const assignmentCodec = codec(AssignmentSchema, 'assignment');
export const jobReportCodec = codec(JobReportSchema, 'job report');
export const stopRequestCodec = codec(StopRequestSchema, 'stop request');
export const agentRecordCodec = codec(AgentRecordSchema, 'agent record');
export const logRecordCodec = codec(LogRecordSchema, 'log record');
