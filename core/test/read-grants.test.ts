import { describe, expect, it } from 'vitest';
import { isPinnedImage, readGrantRefusal, unpinnedImage, type JobRecord } from '../src/index.js';

const object = `sha256-${'1'.repeat(64)}`;
const archive = 'kp.local.outputs.agent-w.r-1.first.1';
const job = (patch: Partial<JobRecord>) =>
  ({
    runId: 'r-1',
    id: 'a',
    attempt: 2,
    agentId: 'agent-a',
    state: 'pulling',
    files: [{ path: 'x', object, size: 1, executable: false, shared: true }],
    inputArchives: [{ object: archive, dir: '' }],
    ...patch,
  }) as JobRecord;
const request = (patch: object = {}) => ({ v: 1 as const, runId: 'r-1', jobId: 'a', attempt: 2, object, ...patch });

describe('read grants', () => {
  it('grants the agent an active attempt is assigned to its files and input archives, and nothing else', () => {
    for (const state of ['assigned', 'pulling', 'running'] as const)
      expect(readGrantRefusal(job({ state }), 'agent-a', request())).toBeUndefined();
    expect(readGrantRefusal(job({}), 'agent-a', request({ object: archive }))).toBeUndefined();
    expect(readGrantRefusal(job({}), 'agent-b', request())).toBe('attempt 2 of r-1/a is not assigned to agent-b now');
    expect(readGrantRefusal(job({ attempt: 3 }), 'agent-a', request())).toBe('attempt 2 of r-1/a is not assigned to agent-a now');
    expect(readGrantRefusal(job({ state: 'done' }), 'agent-a', request())).toBe('attempt 2 of r-1/a is not assigned to agent-a now');
    expect(readGrantRefusal(undefined, 'agent-a', request())).toBe('attempt 2 of r-1/a: no such job');
    expect(readGrantRefusal(job({}), 'agent-a', request({ object: `sha256-${'2'.repeat(64)}` }))).toBe(
      `sha256-${'2'.repeat(64)} is not an input of attempt 2 of r-1/a`,
    );
  });
});

describe('pinned images', () => {
  it('takes a reference pinned by digest, with or without a tag, and nothing else', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(isPinnedImage(`127.0.0.1:5000/katapult/env@${digest}`)).toBe(true);
    expect(isPinnedImage(`127.0.0.1:5000/katapult/env:tag@${digest}`)).toBe(true);
    for (const ref of ['127.0.0.1:5000/katapult/env:tag', 'debian', `env@sha256:${'A'.repeat(64)}`, `@${digest}`, `env@${digest} `])
      expect(isPinnedImage(ref), ref).toBe(false);
    expect(unpinnedImage({ a: `env@${digest}`, b: 'env:latest' })).toEqual({ field: 'images.b', ref: 'env:latest' });
    expect(unpinnedImage({ a: `env@${digest}` })).toBeUndefined();
  });
});
