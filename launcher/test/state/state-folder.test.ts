import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateFolder } from '../../src/state/state-folder.js';
import { ensureApiToken } from '../../src/state/api-token.js';
import { ensureNatsAuth, removeNatsAuth, writeNatsServerConfig } from '../../src/state/nats-auth.js';
import { ensureRegistryAuth, removeRegistryAuth } from '../../src/state/registry-auth.js';
import { recordPort } from '../../src/state/stack-ports.js';
import { writeRemoteStack } from '../../src/state/remote-stack.js';
import { writeStack } from '../../src/state/stack-file.js';

describe('StateFolder', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'kp-state-folder-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('is $KATAPULT_HOME made absolute, else ~/.katapult', () => {
    expect(StateFolder.fromEnv({ KATAPULT_HOME: '/srv/kp/' }).root).toBe('/srv/kp');
    expect(StateFolder.fromEnv({ KATAPULT_HOME: 'rel' }).root).toBe(join(process.cwd(), 'rel'));
    expect(StateFolder.fromEnv({}).root).toBe(join(homedir(), '.katapult'));
  });

  it('names every file of a stack under its root, as earlier versions of the CLI left them', () => {
    const state = new StateFolder('/srv/kp');
    const names = {
      stack: state.stackFile,
      ports: state.portsFile,
      remote: state.remoteFile,
      token: state.apiTokenFile,
      ...Object.fromEntries(Object.entries(state.natsFiles).map(([key, path]) => [`nats.${key}`, path])),
      natsStore: state.natsStore,
      natsJetstream: state.natsJetstream,
      ...Object.fromEntries(Object.entries(state.registryFiles).map(([key, path]) => [`registry.${key}`, path])),
      registryStore: state.registryStore,
      ...Object.fromEntries(Object.entries(state.tls).map(([key, path]) => [`tls.${key}`, path])),
      logs: state.logsFolder,
      coordinatorLog: state.log('coordinator'),
      builds: state.buildsFolder,
      imagesLog: state.imagesLog,
    };
    expect(names).toEqual({
      stack: '/srv/kp/stack.json',
      ports: '/srv/kp/ports.json',
      remote: '/srv/kp/remote.json',
      token: '/srv/kp/api-token',
      'nats.auth': '/srv/kp/nats-auth.json',
      'nats.config': '/srv/kp/nats.conf',
      'nats.users': '/srv/kp/nats-users.conf',
      'nats.agents': '/srv/kp/nats-agents.json',
      'nats.pid': '/srv/kp/nats.pid',
      natsStore: '/srv/kp/nats',
      natsJetstream: '/srv/kp/nats/jetstream',
      'registry.auth': '/srv/kp/registry-auth.json',
      'registry.pushHtpasswd': '/srv/kp/registry-push.htpasswd',
      'registry.pullHtpasswd': '/srv/kp/registry-pull.htpasswd',
      'registry.config': '/srv/kp/registry.yml',
      'registry.pullConfig': '/srv/kp/registry-pull.yml',
      registryStore: '/srv/kp/registry',
      'tls.folder': '/srv/kp/tls',
      'tls.ca': '/srv/kp/tls/ca.pem',
      'tls.caKey': '/srv/kp/tls/ca-key.pem',
      'tls.cert': '/srv/kp/tls/nats.pem',
      'tls.key': '/srv/kp/tls/nats-key.pem',
      'tls.request': '/srv/kp/tls/nats.csr',
      'tls.extensions': '/srv/kp/tls/nats.ext',
      'tls.names': '/srv/kp/tls/names.json',
      logs: '/srv/kp/logs',
      coordinatorLog: '/srv/kp/logs/coordinator.log',
      builds: '/srv/kp/builds',
      imagesLog: '/srv/kp/builds/images.log',
    });
  });

  it('labels containers by its absolute path, so the same folder named two ways is one stack', () => {
    expect(new StateFolder('/srv/kp').label).toMatch(/^kp[0-9a-f]{8}$/);
    expect(new StateFolder('/srv/kp/').label).toBe(new StateFolder('/srv/kp').label);
    expect(new StateFolder('/srv/other').label).not.toBe(new StateFolder('/srv/kp').label);
  });

  it('is where the state modules write, and the credentials `down` removes are the ones they wrote', () => {
    const state = new StateFolder(join(scratch, 'stack'));
    mkdirSync(state.root, { recursive: true });
    ensureApiToken(state);
    const auth = ensureNatsAuth(state);
    writeNatsServerConfig(state, { port: 4222, cluster: 'local', auth });
    ensureRegistryAuth(state);
    recordPort(state, 'nats', 4222);
    writeStack(state, { label: state.label, cluster: 'local', nats: { pid: 1, port: 4222 }, registry: { pid: 2, port: 5000 } });
    writeRemoteStack(state, {
      project: 'p',
      region: null,
      profile: null,
      instanceId: 'i',
      publicIp: '1.2.3.4',
      privateIp: '10.0.0.1',
      natsPort: 1,
      httpPort: 2,
      tlsName: 't',
      cluster: 'p',
      label: 'l',
    });
    const written = readdirSync(state.root)
      .map((name) => join(state.root, name))
      .sort();
    expect(written).toEqual(
      [
        state.apiTokenFile,
        state.natsFiles.auth,
        state.natsFiles.config,
        state.natsFiles.users,
        // The JetStream store's folder, holding the store size kept for the stack (natsMaxFileStore).
        state.natsStore,
        ...Object.values(state.registryFiles).filter((path) => !path.endsWith('.yml')),
        state.portsFile,
        state.remoteFile,
        state.stackFile,
      ].sort(),
    );
    removeNatsAuth(state);
    removeRegistryAuth(state);
    expect(readdirSync(state.root).sort()).toEqual(['api-token', 'nats', 'ports.json', 'remote.json', 'stack.json']);
  });
});
