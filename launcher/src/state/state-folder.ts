import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';

/**
 * Where a stack keeps its servers' data, logs, pids and secrets: $KATAPULT_HOME, or ~/.katapult. The one place
 * that names the files in it; every other module asks it for a path. A state folder holds one stack, local or remote.
 */
export class StateFolder {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** $KATAPULT_HOME, or ~/.katapult. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): StateFolder {
    return new StateFolder(env['KATAPULT_HOME'] ?? join(homedir(), '.katapult'));
  }

  /** A short id of the state folder, put on every container the stack starts so `down` finds them all. */
  get label(): string {
    return `kp${createHash('sha256').update(this.root).digest('hex').slice(0, 8)}`;
  }

  /** The local stack's servers: pids and ports (stack-file.ts). */
  get stackFile(): string {
    return this.file('stack.json');
  }

  /** The ports the servers had, kept across `down` (stack-ports.ts). */
  get portsFile(): string {
    return this.file('ports.json');
  }

  /** Where a remote maestro is (remote-stack.ts). */
  get remoteFile(): string {
    return this.file('remote.json');
  }

  /** The coordinator's API token, 0600 (api-token.ts). */
  get apiTokenFile(): string {
    return this.file('api-token');
  }

  /** The NATS files `down` removes (nats-auth.ts): the admin's credentials, the server's config, its users, the agents' credentials, its pid. */
  get natsFiles(): { auth: string; config: string; users: string; agents: string; pid: string } {
    return {
      auth: this.file('nats-auth.json'),
      config: this.file('nats.conf'),
      users: this.file('nats-users.conf'),
      agents: this.file('nats-agents.json'),
      pid: this.file('nats.pid'),
    };
  }

  /** JetStream's store: the runs, their logs and files; kept across `down`. */
  get natsStore(): string {
    return this.file('nats');
  }

  /** JetStream's store size, chosen when the stack's NATS is first set up and kept with the store (nats-auth.ts). */
  get natsMaxFileStore(): string {
    return join(this.natsStore, 'max-file-store');
  }

  /** Present once JetStream has written anything: what a history can be read from after `down`. */
  get natsJetstream(): string {
    return join(this.natsStore, 'jetstream');
  }

  /** The local registry's files `down` removes (registry-auth.ts). */
  get registryFiles(): { auth: string; pushHtpasswd: string; pullHtpasswd: string; config: string; pullConfig: string } {
    return {
      auth: this.file('registry-auth.json'),
      pushHtpasswd: this.file('registry-push.htpasswd'),
      pullHtpasswd: this.file('registry-pull.htpasswd'),
      config: this.file('registry.yml'),
      pullConfig: this.file('registry-pull.yml'),
    };
  }

  /** The registry's storage: the images, kept across `down`. */
  get registryStore(): string {
    return this.file('registry');
  }

  /** The stack's CA and NATS's certificate (nats-tls.ts), 0700; `down` removes it. */
  get tls(): { folder: string; ca: string; caKey: string; cert: string; key: string; request: string; extensions: string; names: string } {
    const folder = this.file('tls');
    return {
      folder,
      ca: join(folder, 'ca.pem'),
      caKey: join(folder, 'ca-key.pem'),
      cert: join(folder, 'nats.pem'),
      key: join(folder, 'nats-key.pem'),
      request: join(folder, 'nats.csr'),
      extensions: join(folder, 'nats.ext'),
      names: join(folder, 'names.json'),
    };
  }

  /** The servers' output, one file each. */
  get logsFolder(): string {
    return this.file('logs');
  }

  /** `<state>/logs/<name>.log`: nats, registry, registry-pull, coordinator, nats-history. */
  log(name: string): string {
    return join(this.logsFolder, `${name}.log`);
  }

  /** Image builds' logs. */
  get buildsFolder(): string {
    return this.file('builds');
  }

  /** The image tools' full output of `build` and `launch`. */
  get imagesLog(): string {
    return join(this.buildsFolder, 'images.log');
  }

  private file(name: string): string {
    return join(this.root, name);
  }
}
