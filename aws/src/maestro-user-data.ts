import { ecrRegistryHost, ExitCode, isDnsName, KatapultError, MAESTRO_ENV } from '@katapult/core';
import { bootPreamble, ecrLogin, envLineProblem, failHandler, imdsFunction, installTools, pullImage } from './boot-script.js';

export interface MaestroUserDataOptions {
  /** The maestro image (NATS and the coordinator); in ECR it is pulled with the instance role. */
  image: string;
  /** Files of the maestro's state folder, by path relative to it (`tls/ca.pem`, `api-token`…): written 0600. */
  stateFiles: Record<string, string>;
  /** The container's environment, one line each in a 0600 file; AWS_REGION is added from the instance metadata. */
  env: Record<string, string>;
  /** The name in the maestro's certificate, given to the container as KATAPULT_TLS_NAME. */
  tlsName: string;
}

export const MAESTRO_CONTAINER = 'katapult-maestro';
/** Where the state files go on the instance, mounted at /state in the container. */
export const MAESTRO_STATE_DIR = '/var/lib/katapult';
export const MAESTRO_ENV_FILE = '/etc/katapult/maestro.env';
/** EC2 refuses user-data past 16 KB. */
export const USER_DATA_MAX_BYTES = 16 * 1024;
/** Set by the script itself. */
const RESERVED_ENV = ['AWS_REGION', MAESTRO_ENV.tlsName];

const refuse = (message: string, hint?: string) =>
  new KatapultError('KP_AWS_USER_DATA', message, { exitCode: ExitCode.badInput, ...(hint ? { hint } : {}) });

function checkStatePath(path: string): void {
  const segments = path.split('/');
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(path) || segments.some((segment) => segment === '.' || segment === '..')) {
    throw refuse(`state file ${JSON.stringify(path)} must be a relative path of letters, digits, '.', '_', '-' and '/', with no '..'`);
  }
}

/** Every folder the state files need under the state folder (`tls` for `tls/ca.pem`), parents first. */
function stateFolders(paths: string[]): string[] {
  const folders = new Set<string>();
  for (const path of paths) {
    const segments = path.split('/').slice(0, -1);
    for (let i = 1; i <= segments.length; i++) folders.add(segments.slice(0, i).join('/'));
  }
  return [...folders].sort();
}

/**
 * The maestro's boot script, as EC2 user-data (cloud-init runs it once, as root, at first boot). It installs curl
 * and Docker (and the ECR credential helper when the image is in ECR) when missing; writes the state files under
 * /var/lib/katapult (folders 0700, files 0600, each from base64, so no content can end or change the script);
 * writes the container's environment with the region read from IMDSv2; pulls the image and starts it with host
 * networking and the state folder at /state. Unlike an agent's instance, the maestro is kept when its container
 * ends: Docker restarts it (`unless-stopped`, also after a reboot), as it holds the cluster's state in
 * /var/lib/katapult/nats. A failed boot powers off after 5 minutes (launched with shutdown behavior `stop`, so the
 * disk is kept). Test-only variables, unset on an instance: KATAPULT_BOOT_ROOT prefixes every path the script writes
 * and the state folder mounted; KATAPULT_IMDS_URL replaces the IMDS address.
 */
export function renderMaestroUserData(options: MaestroUserDataOptions): string {
  const ecrHost = ecrRegistryHost(options.image);
  if (!isDnsName(options.tlsName) || options.tlsName.length > 253) {
    throw refuse(`the TLS name ${JSON.stringify(options.tlsName)} is not a host name`);
  }
  const env: [string, string][] = [...Object.entries(options.env), [MAESTRO_ENV.tlsName, options.tlsName]];
  for (const [name, value] of Object.entries(options.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw refuse(`${JSON.stringify(name)} is not an environment variable name`);
    if (RESERVED_ENV.includes(name)) throw refuse(`${name} is set by the boot script itself`, 'leave it out of env');
    if (envLineProblem(value)) throw refuse(`${name} cannot hold a line break or a NUL character`);
  }
  const files = Object.entries(options.stateFiles);
  for (const [path] of files) checkStatePath(path);
  const folders = stateFolders(files.map(([path]) => path));

  const script = [
    ...bootPreamble(
      'Katapult maestro boot script (EC2 user-data), written by launchMaestro. Runs once, as root, at first boot.',
      'MAESTRO_IMAGE',
      options.image,
    ),
    `STATE="$ROOT${MAESTRO_STATE_DIR}"`,
    '',
    ...failHandler('maestro boot'),
    '',
    ...installTools(Boolean(ecrHost)),
    '',
    ...imdsFunction(),
    'REGION=$(imds placement/region)',
    '[[ "$REGION" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] || fail "unexpected region \\"$REGION\\""',
    '',
    ...ecrLogin(ecrHost),
    "# The state folder: certificates, credentials and, made by the container, NATS's data. Root only.",
    'write_state() {',
    '  (umask 077; printf \'%s\' "$2" | base64 -d >"$STATE/$1")',
    '  chmod 600 "$STATE/$1"',
    '}',
    `(umask 077; mkdir -p "$STATE"${folders.map((folder) => ` "$STATE/${folder}"`).join('')})`,
    `chmod 700 "$STATE"${folders.map((folder) => ` "$STATE/${folder}"`).join('')}`,
    ...files.map(([path, content]) => `write_state ${path} '${Buffer.from(content, 'utf8').toString('base64')}'`),
    '',
    "# The container's environment, readable by root only.",
    'mkdir -p "$ROOT/etc/katapult"',
    '(',
    '  umask 077',
    '  {',
    "    cat <<'KATAPULT_ENV_END'",
    ...env.map(([name, value]) => `${name}=${value}`),
    'KATAPULT_ENV_END',
    '    echo "AWS_REGION=$REGION"',
    `  } >"$ROOT${MAESTRO_ENV_FILE}"`,
    ')',
    `chmod 600 "$ROOT${MAESTRO_ENV_FILE}"`,
    '',
    ...pullImage('MAESTRO_IMAGE'),
    `docker rm -f ${MAESTRO_CONTAINER} >/dev/null 2>&1 || true`,
    `docker run -d --name ${MAESTRO_CONTAINER} --network host --restart unless-stopped \\`,
    `  -v "$ROOT${MAESTRO_STATE_DIR}:/state" --env-file "$ROOT${MAESTRO_ENV_FILE}" "$MAESTRO_IMAGE"`,
    'echo "katapult: maestro started"',
    '',
  ].join('\n');
  const size = Buffer.byteLength(script, 'utf8');
  if (size > USER_DATA_MAX_BYTES) {
    throw refuse(
      `the maestro's boot script is ${size} bytes, more than EC2's ${USER_DATA_MAX_BYTES}`,
      'make the state files smaller (an EC key rather than RSA)',
    );
  }
  return script;
}
