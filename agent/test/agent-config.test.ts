import { describe, expect, it } from 'vitest';
import { buildAgentServer, readAgentConfig } from '../src/index.js';

describe('agent configuration from its environment', () => {
  const base = { KATAPULT_NATS_URL: 'nats://127.0.0.1:4222', KATAPULT_CLUSTER: 'local', KATAPULT_AGENT_ID: 'local-0' };

  it('reads what the provider sets, with defaults', () => {
    expect(readAgentConfig({ ...base, KATAPULT_CPUS: '4' })).toMatchObject({
      natsUrl: 'nats://127.0.0.1:4222',
      agentId: 'local-0',
      instanceId: 'local-0',
      cpus: 4,
      httpPort: 0,
      httpHost: '127.0.0.1',
      heartbeatMs: 2000,
    });
  });

  it('watches the metadata service for spot notices only when told where it is', () => {
    expect(readAgentConfig(base)).toMatchObject({ metadataUrl: undefined, metadataPollMs: 5000 });
    expect(readAgentConfig({ ...base, KATAPULT_METADATA_URL: '' }).metadataUrl).toBeUndefined();
    expect(readAgentConfig({ ...base, KATAPULT_METADATA_URL: 'http://169.254.169.254/', KATAPULT_METADATA_POLL_MS: '1000' })).toMatchObject(
      {
        metadataUrl: 'http://169.254.169.254',
        metadataPollMs: 1000,
      },
    );
    expect(readAgentConfig({ ...base, KATAPULT_METADATA_POLL_MS: '0' }).metadataPollMs).toBe(100);
    expect(() => readAgentConfig({ ...base, KATAPULT_METADATA_URL: '169.254.169.254' })).toThrow(
      'KATAPULT_METADATA_URL must be an http:// address, got "169.254.169.254"',
    );
    expect(() => readAgentConfig({ ...base, KATAPULT_METADATA_POLL_MS: 'often' })).toThrow(
      'KATAPULT_METADATA_POLL_MS must be a non-negative integer',
    );
  });

  it('reads the memory the instance offers jobs, when the provider gives it', () => {
    expect(readAgentConfig(base).memoryBytes).toBeNull();
    expect(readAgentConfig({ ...base, KATAPULT_MEMORY_BYTES: '2147483648' }).memoryBytes).toBe(2147483648);
    expect(() => readAgentConfig({ ...base, KATAPULT_MEMORY_BYTES: '2g' })).toThrow(
      'KATAPULT_MEMORY_BYTES must be a non-negative integer, got "2g"',
    );
  });

  it('takes the CA as PEM, or base64 of it as an EC2 env file carries it', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(readAgentConfig({ ...base, KATAPULT_NATS_CA: pem }).natsCa).toBe(pem);
    expect(readAgentConfig({ ...base, KATAPULT_NATS_CA_BASE64: Buffer.from(pem).toString('base64') }).natsCa).toBe(pem);
    expect(readAgentConfig(base).natsCa).toBeUndefined();
    expect(() => readAgentConfig({ ...base, KATAPULT_NATS_CA_BASE64: 'bm90IGEgY2VydA==' })).toThrow(
      'KATAPULT_NATS_CA_BASE64 is not a base64-encoded PEM certificate',
    );
  });

  it("takes the name on NATS's certificate when it dials another (the maestro's)", () => {
    expect(readAgentConfig({ ...base, KATAPULT_NATS_TLS_NAME: 'maestro.katapult' }).natsTlsName).toBe('maestro.katapult');
    expect(readAgentConfig(base)).not.toHaveProperty('natsTlsName');
    expect(readAgentConfig({ ...base, KATAPULT_NATS_TLS_NAME: '' })).not.toHaveProperty('natsTlsName');
  });

  it('reads the GPUs the instance offers (none by default) and its instance type, which must fit a heartbeat record', () => {
    expect(readAgentConfig(base)).toMatchObject({ gpus: 0 });
    expect(readAgentConfig(base)).not.toHaveProperty('instanceType');
    expect(readAgentConfig({ ...base, KATAPULT_GPUS: '4', KATAPULT_INSTANCE_TYPE: 'g5.12xlarge' })).toMatchObject({
      gpus: 4,
      instanceType: 'g5.12xlarge',
    });
    expect(readAgentConfig({ ...base, KATAPULT_INSTANCE_TYPE: '' })).not.toHaveProperty('instanceType');
    expect(() => readAgentConfig({ ...base, KATAPULT_GPUS: 'all' })).toThrow('KATAPULT_GPUS must be a non-negative integer, got "all"');
    expect(() => readAgentConfig({ ...base, KATAPULT_GPUS: '65' })).toThrow('KATAPULT_GPUS must be at most 64, got 65');
    expect(() => readAgentConfig({ ...base, KATAPULT_INSTANCE_TYPE: 'g5 xlarge' })).toThrow(
      'KATAPULT_INSTANCE_TYPE must be letters, digits',
    );
  });

  it('names the missing or malformed variable', () => {
    expect(() => readAgentConfig({ KATAPULT_CLUSTER: 'local', KATAPULT_AGENT_ID: 'a' })).toThrow('KATAPULT_NATS_URL is not set');
    expect(() => readAgentConfig({ ...base, KATAPULT_CPUS: 'many' })).toThrow('KATAPULT_CPUS must be a non-negative integer, got "many"');
  });
});

describe('agent HTTP API', () => {
  it('answers health and what the agent runs', async () => {
    const app = buildAgentServer({ agentId: 'local-0', instanceId: 'i-1', cpus: 2, gpus: 1, running: () => ['r-1/a'] });
    expect((await app.inject({ url: '/health' })).json()).toEqual({ ok: true });
    expect((await app.inject({ url: '/info' })).json()).toEqual({
      agentId: 'local-0',
      instanceId: 'i-1',
      cpus: 2,
      gpus: 1,
      running: ['r-1/a'],
    });
  });
});
