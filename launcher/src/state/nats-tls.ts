import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ExitCode, KatapultError } from '@katapult/core/light';
import { writeFileAtomic } from './atomic-file.js';
import { readStateJson } from './state-json.js';
import type { StateFolder } from './state-folder.js';

export interface NatsTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export const natsTlsFiles = (state: StateFolder): NatsTlsFiles => {
  const { ca, cert, key } = state.tls;
  return { ca, cert, key };
};

/** The subjectAltName entry of a host: `IP:` for an IPv4 address, `DNS:` for a name. */
export function subjectAltName(host: string): string {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) ? `IP:${host}` : `DNS:${host}`;
}

/** The extra names the stack's server certificate holds (maestro_address hosts), besides 127.0.0.1 and localhost. */
export function certificateNames(state: StateFolder): string[] {
  return readStateJson(state.tls.names, 'certificateNames') ?? [];
}

/** TLS for NATS is asked for with KATAPULT_TLS=1 when a stack starts, for agents reached across a network. */
export function tlsRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['1', 'true', 'yes'].includes((env['KATAPULT_TLS'] ?? '').toLowerCase());
}

/**
 * A private certificate authority and a server certificate for 127.0.0.1, localhost and `names` (the hosts
 * EC2 instances dial: maestro_address), made with openssl once per stack; the server certificate is made again,
 * by the same CA, when a name is missing from it. Keys are readable by this user only. Clients trust the
 * stack's CA, nothing else.
 */
export function ensureNatsTls(state: StateFolder, names: readonly string[] = []): NatsTlsFiles {
  const files = natsTlsFiles(state);
  const wanted = [...new Set([...certificateNames(state), ...names])].sort();
  const complete = wanted.length === certificateNames(state).length;
  if (existsSync(files.ca) && existsSync(files.cert) && existsSync(files.key) && complete) return files;
  const { folder, caKey, request, extensions } = state.tls;
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const openssl = (args: string[], input?: string) => {
    try {
      execFileSync('openssl', args, { stdio: ['pipe', 'ignore', 'pipe'], ...(input ? { input } : {}) });
    } catch (error) {
      throw new KatapultError(
        'KP_TLS_CERTIFICATES',
        `could not make the stack's TLS certificates with openssl: ${String((error as Error).message).split('\n')[0]}`,
        {
          hint: 'install openssl (apt-get install openssl), or start the stack without KATAPULT_TLS',
          exitCode: ExitCode.infrastructure,
        },
      );
    }
  };
  if (!existsSync(files.ca) || !existsSync(caKey)) {
    openssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '825',
      '-subj',
      '/CN=katapult stack CA',
      '-keyout',
      caKey,
      '-out',
      files.ca,
    ]);
  }
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', files.key, '-out', request]);
  writeFileSync(extensions, `subjectAltName=${['IP:127.0.0.1', 'DNS:localhost', ...wanted.map(subjectAltName)].join(',')}\n`);
  openssl([
    'x509',
    '-req',
    '-in',
    request,
    '-CA',
    files.ca,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-days',
    '825',
    '-extfile',
    extensions,
    '-out',
    files.cert,
  ]);
  for (const key of [caKey, files.key]) chmodSync(key, 0o600);
  writeFileAtomic(state.tls.names, `${JSON.stringify(wanted)}\n`);
  return files;
}

/** The stack's CA certificate when its NATS speaks TLS. */
export function readCa(state: StateFolder): string | undefined {
  try {
    return readFileSync(state.tls.ca, 'utf8');
  } catch {
    return undefined;
  }
}
