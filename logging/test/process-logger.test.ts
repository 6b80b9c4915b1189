import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { processLogger } from '../src/index.js';

/** A stream that keeps what is written, as a file or (isTTY) a terminal would show it. */
function capture(isTTY = false) {
  const chunks: string[] = [];
  return { stream: { isTTY, write: (text: string) => chunks.push(text) }, lines: () => chunks.join('').trim().split('\n') };
}

describe('processLogger', () => {
  it('writes JSON lines with the level, the time, who logs, the message and the ids it is about', () => {
    const out = capture();
    const { log } = processLogger('agent', { agentId: 'a1' }, out.stream);
    log('running r-1/b attempt 2', { runId: 'r-1', jobId: 'b', attempt: 2 });
    log('KP_DISK_FULL "/tmp" is full', { level: 'error' });
    const [first, second, ...rest] = out.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rest).toEqual([]);
    expect(first).toEqual({
      level: 'info',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
      name: 'agent',
      agentId: 'a1',
      runId: 'r-1',
      jobId: 'b',
      attempt: 2,
      msg: 'running r-1/b attempt 2',
    });
    expect(second).toMatchObject({ level: 'error', agentId: 'a1', msg: 'KP_DISK_FULL "/tmp" is full' });
  });

  it('writes one readable line a record on a terminal', () => {
    const out = capture(true);
    processLogger('coordinator', {}, out.stream).log('assigned r-1/b attempt 1 to a1', {
      runId: 'r-1',
      jobId: 'b',
      attempt: 1,
      agentId: 'a1',
    });
    expect(out.lines()).toEqual([
      expect.stringMatching(
        /^\d\d:\d\d:\d\d\.\d{3} INFO  coordinator assigned r-1\/b attempt 1 to a1 runId=r-1 jobId=b attempt=1 agentId=a1$/,
      ),
    ]);
  });

  it("takes Fastify's request log at info, without the request's headers (the API token)", async () => {
    const out = capture();
    const { logger } = processLogger('coordinator', {}, out.stream);
    const app = Fastify({ loggerInstance: logger });
    app.get('/health', async () => ({ ok: true }));
    await app.inject({ method: 'GET', url: '/health', headers: { authorization: 'Bearer secret-token-secret-token-0000' } });
    await app.close();
    const records = out.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toContainEqual(expect.objectContaining({ level: 'info', msg: 'request completed', res: { statusCode: 200 } }));
    expect(out.lines().join('\n')).not.toContain('secret-token');
  });
});
