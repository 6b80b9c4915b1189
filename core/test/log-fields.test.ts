import { describe, expect, it } from 'vitest';
import { formatLogRecord } from '../src/index.js';

describe('formatLogRecord', () => {
  it('makes one line of a JSON record for a terminal: time, level, who, message, then the ids', () => {
    const record = {
      level: 'warn',
      time: '2026-12-01T21:30:05.123Z',
      name: 'coordinator',
      msg: 'agent a1 is gone; r-1/b attempt 1 is lost',
      runId: 'r-1',
      jobId: 'b',
      attempt: 1,
      agentId: 'a1',
    };
    expect(formatLogRecord(record)).toBe(
      '21:30:05.123 WARN  coordinator agent a1 is gone; r-1/b attempt 1 is lost runId=r-1 jobId=b attempt=1 agentId=a1',
    );
  });

  it("shows a request log's nested fields as JSON", () => {
    const record = {
      level: 'info',
      time: '2026-12-01T21:30:05.123Z',
      name: 'coordinator',
      msg: 'request completed',
      reqId: 'req-1',
      res: { statusCode: 200 },
    };
    expect(formatLogRecord(record)).toBe('21:30:05.123 INFO  coordinator request completed reqId=req-1 res={"statusCode":200}');
  });
});
