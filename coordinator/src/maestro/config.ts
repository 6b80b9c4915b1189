import { clusterNames, defaultStreamBudget, natsServerConfig, natsUsersConfig, type NatsUser } from '@katapult/core';
import type { CoordinatorConfig } from '../start.js';
import { dialHost, hostPort, type MaestroSettings } from './settings.js';
import type { MaestroState } from './state.js';

/**
 * nats-server's configuration on the maestro: every client must speak TLS, with the boot script's certificate;
 * JetStream's store has the size kept for it, so its streams' budgets still fit after a restart on a fuller disk.
 */
export function maestroNatsConfig(settings: MaestroSettings, maxFileStoreBytes: number): string {
  const { files } = settings;
  return natsServerConfig({
    listen: hostPort(settings.listen, settings.natsPort),
    pidFile: files.natsPid,
    storeDir: files.natsStore,
    usersInclude: 'nats-users.conf',
    tls: { cert: files.cert, key: files.key },
    maxFileStoreBytes,
  });
}

/**
 * The users file as the coordinator would write it: the admin from nats-auth.json and the agents still issued.
 * Written again at each start, so a changed admin password takes effect and no issued agent is lost.
 */
export function maestroNatsUsers(settings: MaestroSettings, admin: NatsUser, agents: Readonly<Record<string, NatsUser>>): string {
  return natsUsersConfig(clusterNames(settings.cluster), admin, agents);
}

/** NATS as the coordinator in this container dials it: over TLS, checking the certificate's name, not the address. */
export function maestroNatsUrl(settings: MaestroSettings): string {
  return `tls://${hostPort(dialHost(settings.listen), settings.natsPort)}`;
}

/**
 * The in-process coordinator: no local provider (no Docker here), HTTPS API, agent users issued through the state
 * files, and the streams' share of the JetStream store as their byte budget.
 */
export function maestroCoordinatorConfig(settings: MaestroSettings, state: MaestroState, maxFileStoreBytes: number): CoordinatorConfig {
  const { files } = settings;
  return {
    natsUrl: maestroNatsUrl(settings),
    natsUser: state.admin.user,
    natsPassword: state.admin.pass,
    natsUsersFiles: { users: files.natsUsers, agents: files.natsAgents, pid: files.natsPid },
    natsCa: state.ca,
    natsTlsName: settings.tlsName,
    cluster: settings.cluster,
    httpHost: settings.listen,
    httpPort: settings.httpPort,
    httpsCert: state.cert,
    httpsKey: state.key,
    stackLabel: settings.stackLabel,
    dockerSocket: '',
    heartbeatMs: settings.heartbeatMs,
    apiToken: state.apiToken,
    streamBudgetBytes: defaultStreamBudget(maxFileStoreBytes),
  };
}
