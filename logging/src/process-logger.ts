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
      ? pino.destination({ dest: 2, sync: true })
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
