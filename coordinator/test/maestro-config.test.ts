import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { natsServerConfig } from '@katapult/core';
import { tempDir } from '@katapult/testkit';
import { maestroCoordinatorConfig, maestroNatsConfig, maestroNatsUrl, maestroNatsUsers } from '../src/maestro/config.js';
import { dialHost, hostPort, maestroFiles, readMaestroSettings } from '../src/maestro/settings.js';
import { parseNatsAuth, readIssuedAgents, readMaestroState } from '../src/maestro/state.js';
import { readCoordinatorConfig } from '../src/start.js';

const exec = promisify(execFile);
const env = { KATAPULT_CLUSTER: 'far', KATAPULT_STACK_LABEL: 'kp-far', KATAPULT_TLS_NAME: 'maestro.katapult' };
const admin = { user: 'katapult-admin', pass: 'a'.repeat(48) };

describe("the maestro's settings", () => {
  it('reads the contract: defaults for ports and listen address, the state folder at /state', () => {
    expect(readMaestroSettings(env)).toEqual({
      cluster: 'far',
      stackLabel: 'kp-far',
      tlsName: 'maestro.katapult',
      listen: '0.0.0.0',
      natsPort: 4222,
      httpPort: 8443,
      heartbeatMs: 2000,
      files: maestroFiles('/state'),
    });
    expect(maestroFiles('/state')).toMatchObject({
      ca: '/state/tls/ca.pem',
      cert: '/state/tls/server.pem',
      key: '/state/tls/server-key.pem',
      auth: '/state/nats-auth.json',
      apiToken: '/state/api-token',
      natsConfig: '/state/nats.conf',
      natsUsers: '/state/nats-users.conf',
      natsAgents: '/state/nats-agents.json',
      natsPid: '/state/nats.pid',
      natsStore: '/state/nats',
    });
    expect(
      readMaestroSettings({ ...env, KATAPULT_NATS_PORT: '14222', KATAPULT_HTTP_PORT: '18443', KATAPULT_LISTEN: '127.0.0.1' }),
    ).toMatchObject({
      natsPort: 14222,
      httpPort: 18443,
      listen: '127.0.0.1',
    });
  });

  it('refuses what is missing or malformed, in one line', () => {
    expect(() => readMaestroSettings({ ...env, KATAPULT_TLS_NAME: '' })).toThrow('KATAPULT_TLS_NAME is not set');
    expect(() => readMaestroSettings({ ...env, KATAPULT_CLUSTER: undefined })).toThrow(
      expect.objectContaining({ code: 'KP_MAESTRO_CONFIG', exitCode: 2 }),
    );
    expect(() => readMaestroSettings({ ...env, KATAPULT_TLS_NAME: 'bad name' })).toThrow(
      'KATAPULT_TLS_NAME must be a DNS name, got "bad name"',
    );
    expect(() => readMaestroSettings({ ...env, KATAPULT_NATS_PORT: '70000' })).toThrow(
      'KATAPULT_NATS_PORT must be a port number (1-65535), got "70000"',
    );
    expect(() => readMaestroSettings({ ...env, KATAPULT_HTTP_PORT: '4222' })).toThrow(
      'KATAPULT_NATS_PORT and KATAPULT_HTTP_PORT are both 4222',
    );
  });

  it('dials loopback for a wildcard listen address, and brackets IPv6 hosts', () => {
    expect(dialHost('0.0.0.0')).toBe('127.0.0.1');
    expect(dialHost('::')).toBe('::1');
    expect(dialHost('10.0.0.5')).toBe('10.0.0.5');
    expect(hostPort('::1', 4222)).toBe('[::1]:4222');
    expect(maestroNatsUrl(readMaestroSettings(env))).toBe('tls://127.0.0.1:4222');
    expect(maestroNatsUrl(readMaestroSettings({ ...env, KATAPULT_LISTEN: '::', KATAPULT_NATS_PORT: '4333' }))).toBe('tls://[::1]:4333');
  });
});

describe("the maestro's NATS configuration", () => {
  it('is the local stack layout with TLS required: listen, pid file, JetStream store and its kept size, included users', () => {
    const settings = readMaestroSettings({ ...env, KATAPULT_LISTEN: '127.0.0.1', KATAPULT_NATS_PORT: '14222' });
    expect(maestroNatsConfig(settings, 6_000_000_000)).toBe(
      [
        'listen: "127.0.0.1:14222"',
        'pid_file: "/state/nats.pid"',
        'jetstream: { store_dir: "/state/nats", max_file_store: 6000000000 }',
        'authorization: {',
        '  include "nats-users.conf"',
        '}',
        'tls: { cert_file: "/state/tls/server.pem", key_file: "/state/tls/server-key.pem", timeout: 2 }',
        '',
      ].join('\n'),
    );
    expect(natsServerConfig({ listen: '127.0.0.1:4222', pidFile: '/p', storeDir: '/s', usersInclude: 'u.conf' })).not.toContain('tls');
  });

  it('keeps the agents issued before a restart in the users file, with the admin of nats-auth.json', () => {
    const users = maestroNatsUsers(readMaestroSettings(env), admin, { 'aws-0-aa': { user: 'agent-aws-0-aa', pass: 'p1' } });
    expect(users).toContain(`{ user: "katapult-admin", password: "${admin.pass}" }`);
    expect(users).toContain('{ user: "agent-aws-0-aa", password: "p1", permissions:');
    expect(users).toContain('"$KV.kp_far_agents.aws-0-aa"');
  });

  it('is accepted by nats-server itself (nats-server -t)', async () => {
    const dir = await tempDir('maestro-nats-conf');
    const settings = readMaestroSettings({ ...env, KATAPULT_STATE_DIR: dir, KATAPULT_LISTEN: '127.0.0.1' });
    await mkdir(join(dir, 'tls'));
    await exec('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=maestro.katapult',
      '-keyout',
      settings.files.key,
      '-out',
      settings.files.cert,
    ]);
    await writeFile(settings.files.natsConfig, maestroNatsConfig(settings, 100_000_000));
    await writeFile(settings.files.natsUsers, maestroNatsUsers(settings, admin, { a1: { user: 'agent-a1', pass: 'p' } }));
    const { stderr } = await exec('nats-server', ['-c', settings.files.natsConfig, '-t']);
    expect(stderr).toMatch(/configuration file .* is valid/);
  });
});

describe("the maestro's state folder", () => {
  it('reads the admin, the token and the certificates the boot script wrote', async () => {
    const dir = await tempDir('maestro-state');
    const files = maestroFiles(dir);
    await mkdir(join(dir, 'tls'));
    await writeFile(files.auth, JSON.stringify({ admin }));
    await writeFile(files.apiToken, `${'t'.repeat(64)}\n`);
    for (const [file, text] of [
      [files.ca, 'CA'],
      [files.cert, 'CERT'],
      [files.key, 'KEY'],
    ] as const)
      await writeFile(file, text);
    expect(readMaestroState(files)).toEqual({ admin, apiToken: 't'.repeat(64), ca: 'CA', cert: 'CERT', key: 'KEY' });
    expect(readIssuedAgents(files.natsAgents)).toEqual({});
    await writeFile(files.natsAgents, JSON.stringify({ a1: { user: 'agent-a1', pass: 'p' } }));
    expect(readIssuedAgents(files.natsAgents)).toEqual({ a1: { user: 'agent-a1', pass: 'p' } });
  });

  it('names the file that is missing or malformed', async () => {
    const dir = await tempDir('maestro-state-bad');
    expect(() => readMaestroState(maestroFiles(dir))).toThrow(
      expect.objectContaining({ code: 'KP_MAESTRO_STATE', message: `${dir}/api-token cannot be read: ENOENT` }),
    );
    expect(() => parseNatsAuth('{"admin":{"user":"x"}}', 'nats-auth.json')).toThrow('nats-auth.json has no admin user and password');
    expect(() => parseNatsAuth('nope', 'nats-auth.json')).toThrow('nats-auth.json is not JSON');
    await writeFile(join(dir, 'agents.json'), '[1]');
    expect(() => readIssuedAgents(join(dir, 'agents.json'))).toThrow('is not a JSON object of agent users');
  });
});

describe("the maestro's coordinator", () => {
  it('dials its NATS at loopback over TLS checked against the certificate name, serves HTTPS, has no local provider', () => {
    const settings = readMaestroSettings({
      ...env,
      KATAPULT_LISTEN: '127.0.0.1',
      KATAPULT_NATS_PORT: '14222',
      KATAPULT_HTTP_PORT: '18443',
    });
    const config = maestroCoordinatorConfig(
      settings,
      { admin, apiToken: 't'.repeat(64), ca: 'CA', cert: 'CERT', key: 'KEY' },
      10_000_000_000,
    );
    expect(config).toMatchObject({
      natsUrl: 'tls://127.0.0.1:14222',
      natsUser: admin.user,
      natsPassword: admin.pass,
      natsCa: 'CA',
      natsTlsName: 'maestro.katapult',
      natsUsersFiles: { users: '/state/nats-users.conf', agents: '/state/nats-agents.json', pid: '/state/nats.pid' },
      httpHost: '127.0.0.1',
      httpPort: 18443,
      httpsCert: 'CERT',
      httpsKey: 'KEY',
      cluster: 'far',
      stackLabel: 'kp-far',
      // The streams' share of the store kept for the maestro's JetStream.
      streamBudgetBytes: 8_000_000_000,
    });
    expect(config).not.toHaveProperty('agentImage');
  });

  it('the local stack keeps its config; the NATS certificate name and HTTPS files are optional variables', async () => {
    const base = {
      KATAPULT_NATS_URL: 'nats://127.0.0.1:4222',
      KATAPULT_AGENT_IMAGE: 'katapult/agent:x',
      KATAPULT_STACK_LABEL: 's',
      KATAPULT_API_TOKEN: 't'.repeat(64),
    };
    const plain = readCoordinatorConfig(base);
    expect(plain).not.toHaveProperty('natsTlsName');
    expect(plain).not.toHaveProperty('httpsCert');
    expect(plain.agentImage).toBe('katapult/agent:x');
    expect(() => readCoordinatorConfig({ ...base, KATAPULT_AGENT_IMAGE: undefined })).toThrow('KATAPULT_AGENT_IMAGE is not set');

    const dir = await tempDir('coordinator-https');
    await writeFile(join(dir, 'cert.pem'), 'CERT');
    await writeFile(join(dir, 'key.pem'), 'KEY');
    const secure = readCoordinatorConfig({
      ...base,
      KATAPULT_NATS_TLS_NAME: 'maestro.katapult',
      KATAPULT_HTTPS_CERT_FILE: join(dir, 'cert.pem'),
      KATAPULT_HTTPS_KEY_FILE: join(dir, 'key.pem'),
    });
    expect(secure).toMatchObject({ natsTlsName: 'maestro.katapult', httpsCert: 'CERT', httpsKey: 'KEY' });
    expect(() => readCoordinatorConfig({ ...base, KATAPULT_HTTPS_CERT_FILE: join(dir, 'cert.pem') })).toThrow(
      'KATAPULT_HTTPS_CERT_FILE and KATAPULT_HTTPS_KEY_FILE go together',
    );
    expect(() =>
      readCoordinatorConfig({ ...base, KATAPULT_HTTPS_CERT_FILE: join(dir, 'none.pem'), KATAPULT_HTTPS_KEY_FILE: join(dir, 'key.pem') }),
    ).toThrow(/KATAPULT_HTTPS_CERT_FILE .*none\.pem cannot be read/);
    expect(await readFile(join(dir, 'cert.pem'), 'utf8')).toBe('CERT');
  });
});
