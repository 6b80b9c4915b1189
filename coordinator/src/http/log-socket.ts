import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { WebSocket } from 'ws';
import { RUN_ID_PATTERN, type LogEntry, type LogSocketMessage } from '@katapult/core';
import type { JobLogSource } from '../job-log-source.js';
import type { RunService } from '../run-service.js';

/** Past this many bytes queued for a slow client, reading the log waits for the socket to drain. */
const MAX_BUFFERED_BYTES = 1 << 20;
const DRAIN_POLL_MS = 50;
/** Job names are letters, digits, `-` and `_`: one NATS subject token, so none can widen the log subject. */
const JOB_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]*$';

/** Application close codes (4000–4999 are free for applications): the page shows the error sent before. */
const CLOSE_NOT_FOUND = 4404;
const CLOSE_FAILED = 4500;

export interface LogSocketOptions {
  runs: RunService;
  logs: JobLogSource;
}

/**
 * `GET /runs/:runId/jobs/:jobId/logs/ws`: a live tail of one job's log over a WebSocket, replayed from its first
 * line (messages: LogSocketMessageSchema). The token was checked before the upgrade, like every route's.
 */
export const logSocketRoutes: FastifyPluginAsyncTypebox<LogSocketOptions> = async (app, { runs, logs }) => {
  const Params = Type.Object({
    runId: Type.String({ pattern: RUN_ID_PATTERN.source, maxLength: 80 }),
    jobId: Type.String({ pattern: JOB_ID_PATTERN, maxLength: 80 }),
  });
  app.get('/runs/:runId/jobs/:jobId/logs/ws', { websocket: true, schema: { params: Params } }, async (socket, request) => {
    const { runId, jobId } = request.params;
    const send = (message: LogSocketMessage) => socket.send(JSON.stringify(message));
    const run = await runs.get(runId).catch(() => undefined);
    if (!run?.jobs.some((job) => job.id === jobId)) {
      send({ type: 'error', code: 'KP_JOB_NOT_FOUND', message: run ? `run ${runId} has no job named "${jobId}"` : `no run "${runId}"` });
      socket.close(CLOSE_NOT_FOUND, 'not found');
      return;
    }
    const stop = new AbortController();
    socket.on('close', () => stop.abort());
    try {
      await logs.follow(
        runId,
        jobId,
        async (record) => {
          await drained(socket, stop.signal);
          if (!stop.signal.aborted) send(toMessage(record));
        },
        stop.signal,
      );
    } catch (error) {
      if (stop.signal.aborted) return;
      send({ type: 'error', code: 'KP_LOGS_UNAVAILABLE', message: `reading the log of ${jobId} failed: ${(error as Error).message}` });
      socket.close(CLOSE_FAILED, 'log unavailable');
    }
  });
};

function toMessage(record: LogEntry): LogSocketMessage {
  return 'eof' in record
    ? { type: 'end', attempt: record.attempt, exitCode: record.exitCode, at: record.at }
    : { type: 'line', attempt: record.attempt, stream: record.stream, line: record.line, at: record.at };
}

async function drained(socket: WebSocket, signal: AbortSignal): Promise<void> {
  while (socket.bufferedAmount > MAX_BUFFERED_BYTES && !signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
}
