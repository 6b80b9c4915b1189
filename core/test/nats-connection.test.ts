import { describe, expect, it } from 'vitest';
import { natsConnectionOptions } from '../src/index.js';

describe('natsConnectionOptions', () => {
  it("gives a service a connection that reconnects for ever and makes no stack per publish, a command's the defaults", () => {
    const endpoint = { url: 'nats://127.0.0.1:4222', user: 'agent-a1', password: 'pw' };
    expect(natsConnectionOptions(endpoint, { name: 'katapult-coordinator', service: true })).toEqual({
      servers: 'nats://127.0.0.1:4222',
      name: 'katapult-coordinator',
      user: 'agent-a1',
      pass: 'pw',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      noAsyncTraces: true,
    });
    expect(natsConnectionOptions(endpoint, { name: 'katapult-cli' })).toEqual({
      servers: 'nats://127.0.0.1:4222',
      name: 'katapult-cli',
      user: 'agent-a1',
      pass: 'pw',
    });
  });

  it('checks the server certificate against the CA, and against the TLS name when the host dialled is another', () => {
    const options = natsConnectionOptions({ url: 'tls://203.0.113.9:4222', ca: 'PEM', tlsName: 'maestro.katapult' }, { name: 'x' });
    expect(options.tls).toEqual({ ca: 'PEM', servername: 'maestro.katapult' });
    expect(natsConnectionOptions({ url: 'tls://127.0.0.1:4222', ca: 'PEM' }, { name: 'x' }).tls).toEqual({ ca: 'PEM' });
    expect(natsConnectionOptions({ url: 'nats://127.0.0.1:4222' }, { name: 'x' })).not.toHaveProperty('tls');
  });

  it("keeps an agent's first connection trying and its replies under its own inbox prefix", () => {
    const options = natsConnectionOptions(
      { url: 'nats://h:1', user: 'u' },
      { name: 'a', service: true, waitOnFirstConnect: true, inboxPrefix: '_INBOX_kp.a1' },
    );
    expect(options).toMatchObject({ waitOnFirstConnect: true, inboxPrefix: '_INBOX_kp.a1', user: 'u', pass: '' });
  });
});
