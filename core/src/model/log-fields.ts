/**
 * What the coordinator and the agent log: one message, and the ids it is about as fields of their own, so that
 * a log file is searched by run, job, attempt or agent rather than by parsing prose.
 */
export interface LogFields {
  runId?: string;
  jobId?: string;
  attempt?: number;
  agentId?: string;
  /** info unless said; warn for what a person may need to act on, error for what failed. */
  level?: 'info' | 'warn' | 'error';
}

export type Log = (line: string, fields?: LogFields) => void;

const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

/** One JSON log record (pino's) as a line for a terminal: time, level, who, the message, then its fields. */
export function formatLogRecord(record: Record<string, unknown>): string {
  const time = typeof record['time'] === 'string' ? record['time'].slice(11, 23) : '';
  const level = String(record['level'] ?? 'info')
    .toUpperCase()
    .padEnd(5);
  const fields = Object.entries(record)
    .filter(([key, value]) => !HIDDEN.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [time, level, record['name'], record['msg'], ...fields].filter((part) => part !== undefined && part !== '').join(' ');
}
