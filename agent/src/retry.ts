import { isDiskFullRefusal, isStoreLimitRefusal } from '@katapult/core';

export interface RetryOptions {
  /** What is being done, for the agent's log. */
  what: string;
  log: (line: string) => void;
  /** True once the agent closed its NATS connection on purpose: the one reason to give up. */
  closed: () => boolean;
}

const RETRY_MAX_MS = 5_000;

/**
 * Runs `work` until it succeeds, backing off up to 5 s between tries: what an agent has to store in NATS
 * (a report, a log line, a job's outputs) waits for NATS to come back rather than being dropped.
 */
export async function retryUntilDone<T>(work: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0, delay = 200; ; attempt++, delay = Math.min(delay * 2, RETRY_MAX_MS)) {
    try {
      const result = await work();
      if (attempt > 0) options.log(`${options.what}: done after ${attempt} retries`);
      return result;
    } catch (error) {
      if (options.closed()) throw error;
      const why = String(error);
      // A stream's limit refuses the same message every time: trying again would hold the job forever. A full
      // disk is different: the message goes through once space is freed, and an outcome must not be lost.
      if (isStoreLimitRefusal(why) && !isDiskFullRefusal(why)) {
        options.log(`${options.what} refused by NATS, not retried: ${why}`);
        throw error;
      }
      if (attempt === 0)
        options.log(`${options.what} failed (${why}); retrying until NATS ${isDiskFullRefusal(why) ? 'has disk space again' : 'is back'}`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
