import { describe, expect, it } from 'vitest';
import { agentLeaseMs, selfFenceDue } from '../src/index.js';

describe('an agent lease', () => {
  it('lasts five heartbeats', () => {
    expect(agentLeaseMs(2000)).toBe(10_000);
  });

  it('has an agent stop its jobs once 60 % of it passed with no heartbeat stored, well before the coordinator may requeue them', () => {
    expect(selfFenceDue(1_000, 1_000 + 6_000, 2000)).toBe(false);
    expect(selfFenceDue(1_000, 1_000 + 6_001, 2000)).toBe(true);
    expect(selfFenceDue(1_000, 1_000 + agentLeaseMs(2000), 2000)).toBe(true);
  });

  it('is not lost by an agent that never held one', () => {
    expect(selfFenceDue(undefined, 1e12, 2000)).toBe(false);
  });
});
