import { describe, expect, it } from 'vitest';
import { retryUntilDone } from '../src/retry.js';

describe('retryUntilDone', () => {
  it('keeps trying until the work succeeds, and says so once', async () => {
    const log: string[] = [];
    let calls = 0;
    const result = await retryUntilDone(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error('timeout');
        return 'stored';
      },
      { what: 'storing x', log: (line) => log.push(line), closed: () => false },
    );
    expect([result, calls]).toEqual(['stored', 3]);
    expect(log).toEqual(['storing x failed (Error: timeout); retrying until NATS is back', 'storing x: done after 2 retries']);
  });

  it('gives up only when the connection was closed on purpose', async () => {
    const failing = () => Promise.reject(new Error('connection closed'));
    await expect(retryUntilDone(failing, { what: 'storing y', log: () => undefined, closed: () => true })).rejects.toThrow(
      'connection closed',
    );
  });

  it('does not retry what a stream limit refuses: the same message would be refused forever', async () => {
    const log: string[] = [];
    let calls = 0;
    const refused = () => {
      calls += 1;
      return Promise.reject(new Error('message size exceeds maximum allowed'));
    };
    await expect(retryUntilDone(refused, { what: 'storing z', log: (line) => log.push(line), closed: () => false })).rejects.toThrow(
      'message size exceeds maximum',
    );
    expect(calls).toBe(1);
    expect(log).toEqual(['storing z refused by NATS, not retried: Error: message size exceeds maximum allowed']);
  });

  it('retries what a full disk refuses: the same message goes through once space is freed', async () => {
    const log: string[] = [];
    let calls = 0;
    const result = await retryUntilDone(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error('insufficient resources');
        return 'stored';
      },
      { what: 'storing an outcome', log: (line) => log.push(line), closed: () => false },
    );
    expect([result, calls]).toEqual(['stored', 3]);
    expect(log).toEqual([
      'storing an outcome failed (Error: insufficient resources); retrying until NATS has disk space again',
      'storing an outcome: done after 2 retries',
    ]);
  });
});
