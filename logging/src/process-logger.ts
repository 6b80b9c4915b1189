import { formatLogRecord, type Log, type LogFields } from '@katapult/core';
import { pino, type Logger } from 'pino';

export interface ProcessLogger {
  /** For Fastify (its request log) and anything else that speaks pino. */
  logger: Logger;
  log: Log;
}

export interface LogStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * The process's log, on stderr unless told: JSON lines when it is a file (the stack's logs/coordinator.log), one
 * readable line each on a terminal (no pino-pretty: a dependency tree for one line of formatting). stderr is
 * written synchronously: the line saying why the process exits must not be lost.
 */
export function processLogger(name: string, base: Omit<LogFields, 'level'> = {}, stream: LogStream = process.stderr): ProcessLogger {
  const destination = stream.isTTY
    ? { write: (json: string) => stream.write(`${formatLogRecord(JSON.parse(json) as Record<string, unknown>)}\n`) }
    : stream === process.stderr
      ? keepingUnwritten(pino.destination({ dest: 2, sync: true }))
      : stream;
  const logger = pino(
    {
      name,
      // `base`: an agent's agentId on every line; pid and hostname are left out (a container's say nothing).
      base: { name, ...base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  const log: Log = (line, fields = {}) => {
    const { level = 'info', ...ids } = fields;
    logger[level](ids, line);
  };
  return { logger, log };
}

/**
 * stderr is the stack's log file, which a full disk refuses (ENOSPC). The destination keeps what it could not
 * write and writes it with the next line once there is room (e2e/test/disk-full.test.ts reads it back); without a listener its 'error' event would
 * throw out of the log call that met it, and take down the process that was saying the disk is full.
 */
function keepingUnwritten<T extends { on(event: 'error', listener: (error: Error) => void): unknown }>(destination: T): T {
  destination.on('error', () => undefined);
  return destination;
}
