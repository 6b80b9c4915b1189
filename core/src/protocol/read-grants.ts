import Type, { type Static } from 'typebox';
import { NamePattern } from '../config/schema.js';
import { ACTIVE_STATES, type JobRecord } from '../lifecycle/job.js';
import { codec } from './messages.js';

/**
 * An agent reads an attempt's inputs only through consumers the coordinator creates for it (a read grant), once
 * it has checked that the attempt is assigned to that agent and names the input. An agent's NATS user may read
 * a consumer whose name it knows and create none on the file store or the outputs stream, so what it can read is
 * what it was granted: nats-server 2.9 lets a user allowed to create consumers filtered on `<prefix>.*` give the
 * filter `<prefix>.*` or `<prefix>.>` itself, which would read every object (tested in e2e/test/nats-auth.test.ts).
 */
export const ReadGrantRequestSchema = Type.Object({
  v: Type.Literal(1),
  runId: Type.String({ pattern: '^r-[a-z0-9-]+$', maxLength: 64 }),
  jobId: Type.String({ pattern: NamePattern, maxLength: 80 }),
  attempt: Type.Integer({ minimum: 1 }),
  /** A project file's object name, or an output archive as the assignment's inputArchives name it. */
  object: Type.String({ minLength: 1, maxLength: 512 }),
  /** The stream sequence of the last message already read: a read taken up again after messages went missing. */
  after: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type ReadGrantRequest = Static<typeof ReadGrantRequestSchema>;

export const ReadGrantReplySchema = Type.Union([
  Type.Object({
    v: Type.Literal(1),
    ok: Type.Literal(true),
    stream: Type.String({ minLength: 1 }),
    /** A consumer name no one can guess; it delivers the input's messages and is gone a while after the last read. */
    consumer: Type.String({ minLength: 1 }),
    /** How many messages it delivers. */
    messages: Type.Integer({ minimum: 0 }),
    /** An object store object's size and digest (`SHA-256=<base64url>`), to check the bytes against. */
    size: Type.Optional(Type.Integer({ minimum: 0 })),
    digest: Type.Optional(Type.String()),
  }),
  Type.Object({ v: Type.Literal(1), ok: Type.Literal(false), message: Type.String({ maxLength: 4000 }) }),
]);
export type ReadGrantReply = Static<typeof ReadGrantReplySchema>;
export type ReadGrant = Extract<ReadGrantReply, { ok: true }>;

export const readGrantRequestCodec = codec(ReadGrantRequestSchema, 'read request');
export const readGrantReplyCodec = codec(ReadGrantReplySchema, 'read grant');

/** Why `sender` may not read `request.object` for the attempt it names; undefined when it may. */
export function readGrantRefusal(job: JobRecord | undefined, sender: string, request: ReadGrantRequest): string | undefined {
  const attempt = `attempt ${request.attempt} of ${request.runId}/${request.jobId}`;
  if (!job) return `${attempt}: no such job`;
  if (job.agentId !== sender || job.attempt !== request.attempt || !ACTIVE_STATES.has(job.state))
    return `${attempt} is not assigned to ${sender} now`;
  const named =
    job.files.some((file) => file.object === request.object) ||
    (job.inputArchives ?? []).some((archive) => archive.object === request.object);
  return named ? undefined : `${request.object} is not an input of ${attempt}`;
}
