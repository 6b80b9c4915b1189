import bcrypt from 'bcryptjs';

export interface RegistryConfigOptions {
  /** An htpasswd file: every request then needs basic auth (distribution's htpasswd access controller). */
  htpasswdFile?: string;
  /**
   * Serves pulls only: distribution's read-only maintenance mode answers every push, upload and delete with 405.
   * htpasswd gives every user the same rights, so pull-only credentials come from a second registry in this
   * mode on the same storage, with its own users.
   */
  readOnly?: boolean;
}

/** The configuration file of a local distribution registry (docker-registry), on 127.0.0.1 only. */
export function registryConfig(rootDir: string, port: number, options: RegistryConfigOptions = {}): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${rootDir}`,
    ...(options.readOnly ? ['  maintenance:', '    readonly:', '      enabled: true'] : ['  delete:', '    enabled: true']),
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...(options.htpasswdFile === undefined ? [] : ['auth:', '  htpasswd:', '    realm: katapult', `    path: ${options.htpasswdFile}`]),
    '',
  ].join('\n');
}

/** One line of an htpasswd file, `user:<bcrypt hash>`, as `htpasswd -Bbn user password` prints it. */
export function htpasswdLine(user: string, password: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(user)) throw new Error(`registry user "${user}" must be letters, digits, ".", "_" or "-"`);
  return `${user}:${bcrypt.hashSync(password, 10)}`;
}
