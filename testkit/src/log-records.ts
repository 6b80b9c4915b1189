import { readFileSync } from 'node:fs';

/** One line of a coordinator's or agent's log (pino's JSON): the message and the ids it is about. */
export interface LogRecord {
  level: string;
  time: string;
  name: string;
  msg: string;
  runId?: string;
  jobId?: string;
  attempt?: number;
  agentId?: string;
  [field: string]: unknown;
}

/** The records of a log, from a file or from its text (a container's output); lines that are not JSON are left out. */
export function logRecords(source: { file: string } | { text: string }): LogRecord[] {
  const text = 'file' in source ? readFileSync(source.file, 'utf8') : source.text;
  return text.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as LogRecord];
    } catch {
      return [];
    }
  });
}

/** The messages of a log, one a line, as they were written (no JSON escaping), for matching text. */
export function logMessages(source: { file: string } | { text: string }): string {
  return logRecords(source)
    .map((record) => record.msg)
    .join('\n');
}
