import { describe, expect, it } from 'vitest';
import { awsProviderFactory, instanceNatsUrl } from '../src/aws-placement.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const AGENT_IMAGE = '123456789012.dkr.ecr.eu-west-3.amazonaws.com/katapult/agent:0a1b2c';

describe("where a run's instances come from (placement)", () => {
  it("instances dial maestro_address over TLS, on its port or the stack's", () => {
    expect(instanceNatsUrl('nats://127.0.0.1:41234', '203.0.113.5')).toBe('tls://203.0.113.5:41234');
    expect(instanceNatsUrl('tls://127.0.0.1:41234', 'kp.example.com:4443')).toBe('tls://kp.example.com:4443');
  });

  it('refuses an AWS placement instances could not reach back from, or that would send credentials in clear', () => {
    const settings = {
      cluster: 'c',
      natsUrl: 'nats://127.0.0.1:4222',
      natsCa: CA,
      stackLabel: 's',
      heartbeatMs: 2000,
      log: () => undefined,
    };
    const placement = { provider: 'aws' as const, profile: null, agentImage: AGENT_IMAGE, maestroAddress: '203.0.113.5' };
    expect(() => awsProviderFactory(settings)({ ...placement, maestroAddress: null }, null, [])).toThrow(
      expect.objectContaining({ code: 'KP_AWS_NO_MAESTRO_ADDRESS', exitCode: 2 }),
    );
    expect(() => awsProviderFactory(settings)({ ...placement, agentImage: null }, null, [])).toThrow(
      expect.objectContaining({ code: 'KP_AWS_NO_AGENT_IMAGE' }),
    );
    expect(() => awsProviderFactory({ ...settings, natsCa: undefined })(placement, null, [])).toThrow(
      expect.objectContaining({ code: 'KP_AWS_NEEDS_TLS' }),
    );
  });
});
