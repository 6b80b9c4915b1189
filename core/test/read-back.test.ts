import { describe, expect, it } from 'vitest';
import { apiAnswers, JobRecordSchema, KatapultError, readBack, StackFileSchema } from '../src/index.js';
import { jobRecord } from '../src/testing/index.js';

const stack = { label: 'l', cluster: 'local', nats: { pid: 10, port: 4222 }, registry: { pid: 11, port: 5000 } };
const stateFile = readBack(StackFileSchema, 'KP_STATE_FILE');

function lineOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof KatapultError) return error.toLine();
    throw error;
  }
  throw new Error('it did not throw');
}

describe('what is read back is checked against its schema', () => {
  it('takes a value that matches, as it is', () => {
    expect(stateFile(stack, 'stack.json')).toBe(stack);
  });

  it('names the place and the first wrong field of one that does not, in one line', () => {
    expect(lineOf(() => stateFile({ ...stack, nats: { pid: 10, port: '4222' } }, '~/.katapult/stack.json'))).toBe(
      'KP_STATE_FILE ~/.katapult/stack.json: nats.port must be an integer',
    );
    expect(lineOf(() => stateFile({ ...stack, registry: { pid: 11 } }, 'stack.json'))).toBe(
      'KP_STATE_FILE stack.json: registry.port is missing',
    );
    expect(lineOf(() => stateFile([], 'stack.json'))).toBe('KP_STATE_FILE stack.json: the whole value must be an object');
  });

  it('says what a union allows', () => {
    const job = { runId: 'r-1', id: 'a', agentId: 3 };
    expect(JobRecordSchema.properties.agentId).toBeDefined();
    expect(readBack(JobRecordSchema, 'KP_STORE_RECORD').problem({ ...validJob(), ...job })).toBe('agentId must be a string or a null');
  });

  it('an HTTP answer of another shape is KP_API_BAD_RESPONSE with a hint', () => {
    const line = lineOf(() => apiAnswers.createRun({ runId: 'r-1', jobs: 'two', resumed: false }, 'POST /runs'));
    expect(line).toMatch(/^KP_API_BAD_RESPONSE POST \/runs: jobs must be an integer \(is the coordinator the same version/);
  });

  it('keeps an odd value to one line', () => {
    const weird = readBack(StackFileSchema, 'KP_STATE_FILE');
    expect(lineOf(() => weird({}, 'a\nb'))).not.toContain('\n');
  });
});

function validJob(): Record<string, unknown> {
  return { ...jobRecord() };
}
