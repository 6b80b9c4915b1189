import type { NatsConnection } from '@nats-io/transport-node';
import type { ReadGrant } from '@katapult/object-files';
import { readGrantReplyCodec, readGrantRequestCodec, type Assignment, type ClusterNames } from '@katapult/core';

export type AttemptOf = Pick<Assignment, 'runId' | 'jobId' | 'attempt'>;

/** Asks the coordinator for a read of one input of an attempt; `after`: the stream sequence already read. */
export type AskReadGrant = (attempt: AttemptOf, object: string, after?: number) => Promise<ReadGrant>;

// The coordinator may be restarting (its NATS connection comes back within seconds): asked again meanwhile.
const ASK_TIMEOUT_MS = 10_000;
const ASK_FOR_MS = 120_000;

/** The coordinator said no: asking again would not change its mind. */
class ReadRefused extends Error {}

/** Read grants asked as this agent (its NATS user may ask under its own id only, and read nothing else). */
export function readGrantAsker(
  nc: NatsConnection,
  names: ClusterNames,
  agentId: string,
  sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)),
): AskReadGrant {
  return async (attempt, object, after) => {
    const request = readGrantRequestCodec.encode({
      v: 1,
      runId: attempt.runId,
      jobId: attempt.jobId,
      attempt: attempt.attempt,
      object,
      ...(after === undefined ? {} : { after }),
    });
    const until = Date.now() + ASK_FOR_MS;
    for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        const reply = readGrantReplyCodec.decode(
          (await nc.request(names.readGrantSubject(agentId), request, { timeout: ASK_TIMEOUT_MS })).data,
        );
        if (!reply.ok) throw new ReadRefused(`the coordinator's answer to a read of ${object}: ${reply.error}`);
        if (!reply.value.ok) throw new ReadRefused(`reading ${object} was refused: ${reply.value.message}`);
        return reply.value;
      } catch (error) {
        if (error instanceof ReadRefused || nc.isClosed()) throw error;
        if (Date.now() > until)
          throw new Error(`no read of ${object} was granted: the coordinator did not answer in ${ASK_FOR_MS / 1000} s (${String(error)})`);
        await sleep(delay);
      }
    }
  };
}
