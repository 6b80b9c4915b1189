import { describe, expect, it } from 'vitest';
import { stackStepLine } from '../../src/lines/stack-lines.js';

describe('stackStepLine', () => {
  it('says each local server starting in the line `launch` and `images ls` have always printed', () => {
    expect(stackStepLine({ step: 'nats-server', tls: false })).toBe('starting nats-server (JetStream)');
    expect(stackStepLine({ step: 'nats-server', tls: true, host: '0.0.0.0' })).toBe('starting nats-server (JetStream, TLS) on 0.0.0.0');
    expect(stackStepLine({ step: 'registry' })).toBe('starting the local registry');
    expect(stackStepLine({ step: 'coordinator' })).toBe('starting the coordinator');
  });

  it("says the maestro's launch and boot in the lines a remote launch has always printed", () => {
    expect(stackStepLine({ step: 'maestro-starting', instanceType: 't3.small', region: 'eu-west-1', cidr: '198.51.100.7/32' })).toBe(
      'starting the maestro (t3.small in eu-west-1), reachable from 198.51.100.7/32',
    );
    expect(stackStepLine({ step: 'maestro-booting', instanceId: 'i-0abc', publicIp: '203.0.113.5' })).toBe(
      'maestro i-0abc at 203.0.113.5: waiting for it to boot (Docker, the maestro image, NATS, the coordinator)',
    );
    expect(stackStepLine({ step: 'maestro-still-booting', seconds: 95 })).toBe('maestro still booting (95s)');
  });
});
