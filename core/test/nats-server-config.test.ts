import { describe, expect, it } from 'vitest';
import {
  defaultStreamBudget,
  jetStreamStoreBytes,
  maxFileStoreOf,
  natsServerConfig,
  STREAM_BUDGET_OF_STORE,
  streamMaxBytes,
} from '../src/index.js';

describe("nats-server's configuration", () => {
  it('listens where told, with JetStream on disk and users from an included file; TLS only with a certificate', () => {
    const plain = natsServerConfig({
      listen: '127.0.0.1:4222',
      pidFile: '/s/nats.pid',
      storeDir: '/s/nats',
      usersInclude: 'nats-users.conf',
    });
    expect(plain).toBe(
      [
        'listen: "127.0.0.1:4222"',
        'pid_file: "/s/nats.pid"',
        'jetstream: { store_dir: "/s/nats" }',
        'authorization: {',
        '  include "nats-users.conf"',
        '}',
        '',
      ].join('\n'),
    );
    const secure = natsServerConfig({
      listen: '0.0.0.0:4222',
      pidFile: '/p',
      storeDir: '/d',
      usersInclude: 'u.conf',
      tls: { cert: '/t/c.pem', key: '/t/k.pem' },
    });
    expect(secure).toContain('tls: { cert_file: "/t/c.pem", key_file: "/t/k.pem", timeout: 2 }\n');
  });

  it('quotes paths, so a space or quote cannot break the file', () => {
    expect(natsServerConfig({ listen: '127.0.0.1:1', pidFile: '/a b/"p"', storeDir: '/d', usersInclude: 'u.conf' })).toContain(
      'pid_file: "/a b/\\"p\\""',
    );
  });

  it('fixes the JetStream store size it is given, and reads it back; none without one', () => {
    const config = natsServerConfig({
      listen: '127.0.0.1:1',
      pidFile: '/p',
      storeDir: '/s/nats',
      usersInclude: 'u.conf',
      maxFileStoreBytes: 3_000_000_000,
    });
    expect(config).toContain('jetstream: { store_dir: "/s/nats", max_file_store: 3000000000 }\n');
    expect(maxFileStoreOf(config)).toBe(3_000_000_000);
    expect(
      maxFileStoreOf(natsServerConfig({ listen: '127.0.0.1:1', pidFile: '/p', storeDir: '/s', usersInclude: 'u.conf' })),
    ).toBeUndefined();
  });
});

describe("a stack's JetStream store and its streams' budget", () => {
  const GB = 1_000_000_000;

  it('takes three quarters of the free space once, then keeps it whatever the disk holds later', () => {
    expect(jetStreamStoreBytes(undefined, 100 * GB)).toBe(75 * GB);
    expect(jetStreamStoreBytes(75 * GB, 2 * GB)).toBe(75 * GB);
    expect(jetStreamStoreBytes(undefined, 1_000)).toBe(64 * 1024 * 1024);
  });

  it("grows to hold an operator's budget, never shrinks for one", () => {
    expect(jetStreamStoreBytes(10 * GB, 100 * GB, 40 * GB)).toBe(50 * GB);
    expect(jetStreamStoreBytes(10 * GB, 100 * GB, 1 * GB)).toBe(10 * GB);
  });

  it('gives the streams a budget whose reservations fit in the store, with room left for the buckets', () => {
    for (const store of [64 * 1024 * 1024, 3 * GB, 750 * GB]) {
      const shares = Object.values(streamMaxBytes(defaultStreamBudget(store)));
      const reserved = shares.reduce((sum, bytes) => sum + bytes, 0);
      expect(reserved).toBeLessThanOrEqual(store * STREAM_BUDGET_OF_STORE + 1);
    }
  });
});
