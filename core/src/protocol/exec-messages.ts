import Type, { type Static } from 'typebox';
import { NamePattern } from '../config/schema.js';
import { codec } from './messages.js';

/**
 * `katapult exec`: the CLI (admin credentials) asks the agent running a job to run a command in the job's
 * container. Bytes travel base64-encoded in JSON, in chunks far below NATS's max payload.
 */
const runId = Type.String({ pattern: '^r-[a-z0-9-]+$', maxLength: 64, description: 'a run id (r-<letters, digits and "-">)' });
const jobId = Type.String({ pattern: NamePattern, maxLength: 80, description: 'a name of letters, digits, "-" and "_"' });
export const EXEC_SESSION_PATTERN = '^[0-9a-f]{16,64}$';
const session = Type.String({ pattern: EXEC_SESSION_PATTERN, description: '16 to 64 hex digits' });
const bytes = Type.String({ maxLength: 200_000, description: 'base64' });
const size = Type.Integer({ minimum: 1, maximum: 10_000 });

/** The bytes of a chunk in a message: at most this many, so a message stays well under NATS's 1 MB. */
export const EXEC_CHUNK_BYTES = 32 * 1024;
/**
 * Each side sends a keep-alive this often; an agent ends a session it has heard nothing of for EXEC_IDLE_MS, and
 * the CLI gives up on an agent it has heard nothing of for as long (the instance went away).
 */
export const EXEC_PING_MS = 5_000;
export const EXEC_IDLE_MS = 30_000;

export const ExecRequestSchema = Type.Object({
  v: Type.Literal(1),
  session,
  runId,
  jobId,
  attempt: Type.Integer({ minimum: 1 }),
  /** The command and its arguments; empty: a login shell. */
  command: Type.Array(Type.String({ maxLength: 100_000 }), { maxItems: 1000 }),
  tty: Type.Boolean(),
  cols: Type.Optional(size),
  rows: Type.Optional(size),
  /** Who asked (user@host), for the agent's log. */
  by: Type.String({ maxLength: 200 }),
});
export type ExecRequest = Static<typeof ExecRequestSchema>;

export const ExecInputSchema = Type.Union([
  Type.Object({ v: Type.Literal(1), type: Type.Literal('stdin'), data: bytes }),
  /** stdin is over: the command reads its end. */
  Type.Object({ v: Type.Literal(1), type: Type.Literal('eof') }),
  Type.Object({ v: Type.Literal(1), type: Type.Literal('resize'), cols: size, rows: size }),
  Type.Object({ v: Type.Literal(1), type: Type.Literal('ping') }),
  /** The CLI is going away: the agent ends the session. */
  Type.Object({ v: Type.Literal(1), type: Type.Literal('close') }),
]);
export type ExecInput = Static<typeof ExecInputSchema>;

/**
 * From the agent, on the session's output subject (an agent may not publish to reply inboxes): `started` or
 * `refused` first, then output, then `exit`.
 */
export const ExecOutputSchema = Type.Union([
  Type.Object({ v: Type.Literal(1), type: Type.Literal('started') }),
  Type.Object({
    v: Type.Literal(1),
    type: Type.Literal('refused'),
    code: Type.String({ maxLength: 64 }),
    message: Type.String({ maxLength: 2000 }),
  }),
  Type.Object({ v: Type.Literal(1), type: Type.Union([Type.Literal('stdout'), Type.Literal('stderr')]), data: bytes }),
  Type.Object({ v: Type.Literal(1), type: Type.Literal('ping') }),
  /** The last message of a session: the command's exit code, or null when it could not be read. */
  Type.Object({
    v: Type.Literal(1),
    type: Type.Literal('exit'),
    exitCode: Type.Union([Type.Integer(), Type.Null()]),
    message: Type.Optional(Type.String({ maxLength: 2000 })),
  }),
]);
export type ExecOutput = Static<typeof ExecOutputSchema>;

export const execRequestCodec = codec(ExecRequestSchema, 'exec request');
export const execInputCodec = codec(ExecInputSchema, 'exec input');
export const execOutputCodec = codec(ExecOutputSchema, 'exec output');
