import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { EnvNamePattern, NamePattern } from '../config/schema.js';
import { JobNetworkSchema } from '../model/run-spec.js';
import { POOL_ID_PATTERN } from '../model/pools.js';

/**
 * Every message on NATS has a schema and a version `v`. Messages about a job carry (runId, jobId, attempt),
 * which is how stale reports from an earlier attempt are told apart. Decoding never throws on bad input from
 * the wire: a malformed message yields an error result, to be logged and dropped.
 */
const id = Type.String({ pattern: NamePattern, maxLength: 80, description: 'a name of letters, digits, "-" and "_"' });
const runId = Type.String({ pattern: '^r-[a-z0-9-]+$', maxLength: 64, description: 'a run id (r-<letters, digits and "-">)' });

/**
 * A path in a job's work folder as the coordinator writes it (normalized): relative, one "/" between segments,
 * no "." or ".." segment, no backslash, no NUL. An agent given anything else must not stage or collect it:
 * `../../etc/passwd` or `/etc/passwd` would leave the work folder.
 */
export const WORK_PATH_PATTERN = '^(?!\\.\\.?(?:/|$))(?!.*/\\.\\.?(?:/|$))[^/\\\\\\u0000]+(?:/[^/\\\\\\u0000]+)*$';
const workPath = Type.String({
  minLength: 1,
  maxLength: 1024,
  pattern: WORK_PATH_PATTERN,
  description: 'a relative path inside the work folder (no leading "/", no "." or ".." segment)',
});

/** A project file staged into a job's work folder; `object` names its content in the cluster's object store. */
export const StagedFileSchema = Type.Object({
  path: workPath,
  object: Type.String({ pattern: '^sha256-[0-9a-f]{64}$', description: 'an object name, sha256-<64 hex digits>' }),
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
  image: Type.String({ minLength: 1, maxLength: 1024 }),
  runCommand: Type.String({ minLength: 1 }),
  cpus: Type.Integer({ minimum: 1 }),
  /** GPUs the container is given (Docker device requests, NVIDIA driver); absent in assignments sent before GPUs: none. */
  gpus: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
  /** The container's memory limit; null: the job's share of the instance's memory, if it has a limit. */
  memoryBytes: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  network: JobNetworkSchema,
  files: Type.Array(StagedFileSchema),
  outputFiles: Type.Array(workPath),
  /** The job's own variables (config `env`); the agent adds the KATAPULT_* ones (jobEnvironment). Absent: none. */
  env: Type.Optional(Type.Record(Type.String({ pattern: EnvNamePattern, maxLength: 256 }), Type.String({ maxLength: 131_072 }))),
  /** The job's copy of a `repeat` (0-based) and how many there are; absent: 0 of 1. */
  jobIndex: Type.Optional(Type.Integer({ minimum: 0 })),
  jobCount: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Output archives of the jobs it takes inputs from, unpacked into its work folder under `dir` ('' : at their own paths). */
  inputArchives: Type.Optional(
    Type.Array(
      Type.Object({
        // In the outputs stream under its writer's id, or (stored before that stream) in the file store.
        object: Type.String({
          pattern:
            '^(kp\\.[a-z0-9][a-z0-9_-]*\\.outputs\\.[A-Za-z0-9_-]+\\.r-[a-z0-9-]+\\.[a-zA-Z0-9][a-zA-Z0-9_-]*\\.[0-9]+|outputs/r-[a-z0-9-]+/[a-zA-Z0-9][a-zA-Z0-9_-]*/[0-9]+)$',
          maxLength: 512,
          description: 'an output archive, kp.<cluster>.outputs.<agent>.<run>.<job>.<attempt> (or outputs/<run>/<job>/<attempt>)',
        }),
        dir: Type.String({ pattern: `^$|${NamePattern}`, maxLength: 80, description: 'a folder named after a job ("" for none)' }),
      }),
    ),
  ),
  /** The job's secrets, sealed for this agent and attempt (sealSecrets, under the agent's key); absent: none. */
  secrets: Type.Optional(Type.String({ minLength: 1, maxLength: 1_000_000, pattern: '^ks1\\.', description: 'sealed secrets (ks1.…)' })),
  /** Seconds the container may run; past them the agent kills it and reports the exit as timed out. Absent: no limit. */
  timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type Assignment = Static<typeof AssignmentSchema>;

export const JobReportSchema = Type.Object({
  v: Type.Literal(1),
  runId,
  jobId: id,
  attempt: Type.Integer({ minimum: 1 }),
  agentId: id,
  /** `lost`: the agent gave the attempt up without an outcome (its instance is being taken away); it is requeued. */
  type: Type.Union([
    Type.Literal('pulling'),
    Type.Literal('running'),
    Type.Literal('exited'),
    Type.Literal('start_failed'),
    Type.Literal('lost'),
  ]),
  exitCode: Type.Optional(Type.Integer()),
  /**
   * With `exited`: how long the container ran, by Docker's clock. The report goes out only once the job's log
   * is stored, so its arrival is not when the job ended. Absent from agents before it: the arrival is.
   */
  ranMs: Type.Optional(Type.Number({ minimum: 0 })),
  message: Type.Optional(Type.String({ maxLength: 4000 })),
  /** With `exited`: the agent killed the container because it ran past the assignment's timeoutSeconds. */
  timedOut: Type.Optional(Type.Boolean()),
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
  /** GPUs the instance offers to jobs; absent in records of agents from before GPUs were counted: none. */
  gpus: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
  /** The cloud's instance type (EC2's `instance-type`); absent for local agents. */
  instanceType: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
      maxLength: 64,
      description: 'an instance type of letters, digits, ".", "-" and "_"',
    }),
  ),
  /** The pool the agent was started for (`<project>/<hash>`); only that pool's runs place jobs on it. Absent on agents from before pools: they get no work. */
  pool: Type.Optional(Type.String({ pattern: POOL_ID_PATTERN, maxLength: 96, description: 'a pool id, <project>/<8 hex digits>' })),
  startedAt: Type.Number(),
  at: Type.Number(),
  /** The jobs this agent runs now, so the coordinator can tell which ones an agent it lost was running. */
  running: Type.Array(Type.Object({ runId, jobId: id, attempt: Type.Integer({ minimum: 1 }) })),
});
export type AgentRecord = Static<typeof AgentRecordSchema>;

const logStream = Type.Union([Type.Literal('stdout'), Type.Literal('stderr')]);

/** One line of a job's output: what agents stored before chunks (v1), and what readers hand on (LogEntry). */
export const LogLineRecordSchema = Type.Object({
  v: Type.Literal(1),
  attempt: Type.Integer({ minimum: 1 }),
  stream: logStream,
  line: Type.String(),
  at: Type.Number(),
});
export type LogLineRecord = Static<typeof LogLineRecordSchema>;

/** The end of an attempt's log, stored once every chunk before it is stored. */
export const LogEndRecordSchema = Type.Object({
  v: Type.Literal(1),
  attempt: Type.Integer({ minimum: 1 }),
  eof: Type.Literal(true),
  exitCode: Type.Union([Type.Integer(), Type.Null()]),
  at: Type.Number(),
});
export type LogEndRecord = Static<typeof LogEndRecordSchema>;

/**
 * Many entries of a job's output in one message (v2), in the order the agent read them, columns side by side
 * so an entry costs its text and a few bytes. An entry is a whole line, or a part of one too long for a
 * message: `part` lists the entries continued by the next entry of the same stream (log-chunks.ts).
 */
export const LogChunkRecordSchema = Type.Object({
  v: Type.Literal(2),
  attempt: Type.Integer({ minimum: 1 }),
  /** 1, 2, 3… within the attempt: readers put chunks back in this order and drop a copy they have seen. */
  chunk: Type.Integer({ minimum: 1 }),
  /** When the agent read the first entry, in epoch milliseconds. */
  at: Type.Number(),
  lines: Type.Array(Type.String()),
  /** Per entry, milliseconds after `at` that the agent read it. */
  dt: Type.Array(Type.Integer()),
  /** Indexes of the entries from stderr; the others are from stdout. */
  err: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }))),
  /** Indexes of the entries that are not the end of their line. */
  part: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }))),
});
export type LogChunkRecord = Static<typeof LogChunkRecordSchema>;

/** A record as stored on a job's log subject: old single lines (v1) and chunks (v2) are both read. */
export const LogRecordSchema = Type.Union([LogLineRecordSchema, LogEndRecordSchema, LogChunkRecordSchema]);
export type LogRecord = Static<typeof LogRecordSchema>;

/** What log readers hand on, once chunks are unpacked and parts rejoined: a line, or the end of an attempt. */
export type LogEntry = LogLineRecord | LogEndRecord;

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

export interface MessageCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): Decoded<T>;
}

/**
 * `explainWith` picks, for a message that failed, the one schema it was meant to be (a union's errors are
 * those of its first branch otherwise: a bad chunk would be told it lacks a v1 line's fields).
 */
export function codec<S extends TSchema>(
  schema: S,
  name: string,
  explainWith?: (value: unknown) => TSchema | undefined,
): MessageCodec<Static<S>> {
  // Compiled on first use: importing core (every CLI command does) should not pay for every message's validator.
  let compiled: { Check(value: unknown): boolean; Errors(value: unknown): Iterable<SchemaError> } | undefined;
  const validator = () => (compiled ??= Compile(schema));
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
      if (validator().Check(value)) return { ok: true, value: value as Static<S> };
      const meant = explainWith?.(value) ?? schema;
      const first = [...(meant === schema ? validator() : Compile(meant)).Errors(value)][0];
      return { ok: false, error: oneLine(`${name}: ${first ? describeError(meant, first, value) : '/ is invalid'}`) };
    },
  };
}

interface SchemaError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  message: string;
}

/**
 * "must match pattern ^(?!…" tells a reader nothing: a field with a pattern says what it must be (its
 * description) and what it got, so a path-escaping file reads as such in the agent's log.
 */
function describeError(schema: TSchema, error: SchemaError, value: unknown): string {
  const where = error.instancePath || '/';
  const description =
    error.keyword === 'pattern'
      ? descriptionAt(schema, error.schemaPath)
      : error.keyword === 'const'
        ? constantsAt(schema, error.schemaPath)
        : undefined;
  if (!description) return `${where} ${error.message}`;
  const got = JSON.stringify(pointer(value, error.instancePath)) ?? 'nothing';
  return `${where} must be ${description}, got ${got.length > 80 ? `${got.slice(0, 77)}...` : got}`;
}

/** A literal, or a union of literals (`type`, `network`), as the values it allows. */
function constantsAt(schema: TSchema, schemaPath: string): string | undefined {
  const union = /^(.*)\/anyOf\/\d+$/.exec(schemaPath);
  const found = pointer(schema, (union?.[1] ?? schemaPath).replace(/^#/, '')) as
    { const?: unknown; anyOf?: { const?: unknown }[] } | undefined;
  if (found?.anyOf?.every((branch) => branch.const !== undefined))
    return `one of ${found.anyOf.map((branch) => JSON.stringify(branch.const)).join(', ')}`;
  return found?.const === undefined ? undefined : JSON.stringify(found.const);
}

function descriptionAt(schema: TSchema, schemaPath: string): string | undefined {
  const found = pointer(schema, schemaPath.replace(/^#/, ''));
  const description = found !== null && typeof found === 'object' ? (found as { description?: unknown }).description : undefined;
  return typeof description === 'string' ? description : undefined;
}

/** The value a JSON pointer (`/files/0/path`) names in `root`, or undefined. */
function pointer(root: unknown, path: string): unknown {
  let current = root;
  for (const raw of path.split('/').slice(1)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return current;
}

/** An error is logged as one line, however odd the bytes that caused it. */
function oneLine(text: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
}

export const assignmentCodec = codec(AssignmentSchema, 'assignment');
/**
 * The attempt an assignment names, read from one that fails its schema: the agent can still report that attempt
 * start_failed, instead of leaving its job assigned until the agent is gone.
 */
export const AssignedAttemptSchema = Type.Object({ runId, jobId: id, attempt: Type.Integer({ minimum: 1 }) });
export type AssignedAttempt = Static<typeof AssignedAttemptSchema>;
export const assignedAttemptCodec = codec(AssignedAttemptSchema, 'assignment');
export const jobReportCodec = codec(JobReportSchema, 'job report');
export const stopRequestCodec = codec(StopRequestSchema, 'stop request');
export const agentRecordCodec = codec(AgentRecordSchema, 'agent record');
export const logRecordCodec = codec(LogRecordSchema, 'log record', (value) =>
  (value as { v?: unknown } | null)?.v === 2 ? LogChunkRecordSchema : undefined,
);
