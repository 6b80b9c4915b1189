import { describe, expect, it } from 'vitest';
import { natsServerConfig } from '../src/index.js';

describe("nats-server's configuration", () => {
  it('listens where told, with JetStream on disk and users from an included file; TLS only with a certificate', () => {
    const plain = natsServerConfig({ listen: '127.0.0.1:4222', pidFile: '/s/nats.pid', storeDir: '/s/nats', usersInclude: 'nats-users.conf' });
    expect(plain).toBe(
      ['listen: "127.0.0.1:4222"', 'pid_file: "/s/nats.pid"', 'jetstream: { store_dir: "/s/nats" }', 'authorization: {', '  include "nats-users.conf"', '}', ''].join('\n'),
    );
    const secure = natsServerConfig({ listen: '0.0.0.0:4222', pidFile: '/p', storeDir: '/d', usersInclude: 'u.conf', tls: { cert: '/t/c.pem', key: '/t/k.pem' } });
    expect(secure).toContain('tls: { cert_file: "/t/c.pem", key_file: "/t/k.pem", timeout: 2 }\n');
  });

  it('quotes paths, so a space or quote cannot break the file', () => {
    expect(natsServerConfig({ listen: '127.0.0.1:1', pidFile: '/a b/"p"', storeDir: '/d', usersInclude: 'u.conf' })).toContain('pid_file: "/a b/\\"p\\""');
  });
});
