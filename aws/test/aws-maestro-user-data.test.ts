import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DOCKER_STUB, installsDocker, runInSandbox } from './boot-sandbox.js';
import { renderMaestroUserData, type MaestroUserDataOptions } from '../src/maestro-user-data.js';

const ECR_IMAGE = '123456789012.dkr.ecr.eu-west-3.amazonaws.com/katapult/maestro:0a1b2c';
/** Everything that could end a heredoc, a quote or a substitution, if it were pasted into the script. */
const HOSTILE = 'it\'s "quoted" $HOME ${PATH} `id` $(touch /tmp/kp-pwned) \\n\nKATAPULT_ENV_END\n\'\nEOF\n\n';
const options: MaestroUserDataOptions = {
  image: ECR_IMAGE,
  stateFiles: {
    'tls/ca.pem': '-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n',
    'tls/server.pem': '-----BEGIN CERTIFICATE-----\nMIIBserver\n-----END CERTIFICATE-----\n',
    'tls/server-key.pem': HOSTILE,
    'nats-auth.json': '{"user":"katapult","pass":"p4ss\'w$rd`x`"}',
    'api-token': 'tok3n-no-newline',
  },
  env: {
    KATAPULT_CLUSTER: 'demo',
    KATAPULT_NATS_PASSWORD: 'p4ss\'w$rd`x`"',
    KATAPULT_ODD: 'KATAPULT_ENV_END',
  },
  tlsName: 'katapult-maestro',
};

describe("the maestro's boot script", () => {
  it('is valid bash', () => {
    for (const variant of [options, { ...options, image: 'registry.example.com/katapult/maestro:1', stateFiles: {}, env: {} }]) {
      const checked = spawnSync('bash', ['-n'], { input: renderMaestroUserData(variant), encoding: 'utf8' });
      expect(checked.stderr).toBe('');
      expect(checked.status).toBe(0);
    }
  });

  it('writes the state files from base64, the env in a quoted heredoc, and starts the container to be restarted, never powering off for it', () => {
    const script = renderMaestroUserData(options);
    expect(script.startsWith('#!/bin/bash\n# Katapult maestro boot script')).toBe(true);
    expect(script).toContain('set -Eeuo pipefail\nROOT="${KATAPULT_BOOT_ROOT:-}"\nIMDS="${KATAPULT_IMDS_URL:-http://169.254.169.254}"\n');
    expect(script).toContain(`MAESTRO_IMAGE=${ECR_IMAGE}\n`);
    expect(script).toContain('for tool in curl docker docker-credential-ecr-login; do');
    expect(script).toContain('REGION=$(imds placement/region)');
    expect(script).toContain('{"credHelpers":{"123456789012.dkr.ecr.eu-west-3.amazonaws.com":"ecr-login"}}');
    expect(script).toContain(
      [
        '(umask 077; mkdir -p "$STATE" "$STATE/tls")',
        'chmod 700 "$STATE" "$STATE/tls"',
        `write_state tls/ca.pem '${Buffer.from(options.stateFiles['tls/ca.pem']!).toString('base64')}'`,
      ].join('\n'),
    );
    expect(script).toContain(`write_state tls/server-key.pem '${Buffer.from(HOSTILE).toString('base64')}'\n`);
    expect(script).toContain(
      [
        "    cat <<'KATAPULT_ENV_END'",
        'KATAPULT_CLUSTER=demo',
        'KATAPULT_NATS_PASSWORD=p4ss\'w$rd`x`"',
        'KATAPULT_ODD=KATAPULT_ENV_END',
        'KATAPULT_TLS_NAME=katapult-maestro',
        'KATAPULT_ENV_END',
        '    echo "AWS_REGION=$REGION"',
        '  } >"$ROOT/etc/katapult/maestro.env"',
      ].join('\n'),
    );
    expect(script).toContain(
      [
        'docker rm -f katapult-maestro >/dev/null 2>&1 || true',
        'docker run -d --name katapult-maestro --network host --restart unless-stopped \\',
        '  -v "$ROOT/var/lib/katapult:/state" --env-file "$ROOT/etc/katapult/maestro.env" "$MAESTRO_IMAGE"',
        'echo "katapult: maestro started"',
      ].join('\n'),
    );
    // No content reaches the script in clear: only its base64.
    expect(script).not.toContain('kp-pwned');
    expect(script).not.toContain('MIIBca');
    // The maestro outlives its container: no watch powering it off, no power-off at reboot.
    expect(script).not.toContain('systemd-run');
    expect(script).not.toContain('per-boot');
    expect(script).not.toContain('shutdown -h now');
  });

  it('leaves out the ECR login for another registry', () => {
    const script = renderMaestroUserData({ ...options, image: 'registry.example.com/katapult/maestro:1' });
    expect(script).not.toContain('credHelpers');
    expect(script).toContain('for tool in curl docker; do');
  });

  it('refuses what would break the env file or leave the state folder, and a script EC2 would refuse', () => {
    const refused = (variant: Partial<MaestroUserDataOptions>) => {
      try {
        renderMaestroUserData({ ...options, ...variant });
      } catch (error) {
        return error as { code: string; message: string; exitCode: number };
      }
      throw new Error('not refused');
    };
    expect(refused({ env: { KATAPULT_X: 'a\nKATAPULT_CLUSTER=other' } })).toMatchObject({
      code: 'KP_AWS_USER_DATA',
      message: 'KATAPULT_X cannot hold a line break or a NUL character',
      exitCode: 2,
    });
    expect(refused({ env: { KATAPULT_X: 'a\rb' } }).message).toBe('KATAPULT_X cannot hold a line break or a NUL character');
    expect(refused({ env: { 'A B': 'x' } }).message).toBe('"A B" is not an environment variable name');
    expect(refused({ env: { 'A=B': 'x' } }).message).toBe('"A=B" is not an environment variable name');
    expect(refused({ env: { AWS_REGION: 'eu-west-1' } }).message).toBe('AWS_REGION is set by the boot script itself');
    expect(refused({ env: { KATAPULT_TLS_NAME: 'x' } }).message).toBe('KATAPULT_TLS_NAME is set by the boot script itself');
    for (const path of ['../etc/passwd', '/etc/passwd', 'tls/../../x', 'a//b', 'tls/', '', 'a b', "it's", 'x/./y', '$(id)']) {
      expect(refused({ stateFiles: { [path]: 'x' } }).message).toContain('must be a relative path');
    }
    for (const tlsName of ['', 'a b', 'x\ny', '-x', 'x.', "a'b"]) expect(refused({ tlsName }).message).toContain('is not a host name');
    expect(refused({ stateFiles: { big: 'x'.repeat(13_000) } }).message).toMatch(
      /^the maestro's boot script is \d+ bytes, more than EC2's 16384$/,
    );
  });
});

/**
 * The script run for real by bash, as root would at boot, but in a sandbox: every command it may call is a stub on
 * PATH recording its arguments (IMDS answers through the curl stub), KATAPULT_BOOT_ROOT moves every file it
 * writes into a temporary folder; only mkdir, chmod, cat, date and base64 are the real tools.
 */
describe("the maestro's boot script, run in a sandbox", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function sandbox(stubs: string[], env: Record<string, string> = {}, rendered: MaestroUserDataOptions = options) {
    dir = mkdtempSync(join(tmpdir(), 'kp-maestro-boot-'));
    return runInSandbox(dir, renderMaestroUserData(rendered), {
      realTools: ['mkdir', 'chmod', 'cat', 'date', 'base64'],
      stubs,
      env,
      bodies: (bin) => ({
        docker: DOCKER_STUB,
        curl: 'case "$*" in *api/token*) echo token-1;; *placement/region*) echo "${IMDS_REGION:-eu-west-3}";; esac',
        'apt-get': installsDocker(bin),
      }),
    });
  }

  const ALL = ['docker', 'curl', 'docker-credential-ecr-login', 'apt-get', 'systemctl', 'shutdown', 'sleep'];

  it('with Docker there: reads the region, logs in to ECR, writes the state files and the env file 0600, starts the maestro', () => {
    rmSync('/tmp/kp-pwned', { force: true });
    const { run, calls, root } = sandbox(ALL);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(calls).toEqual([
      'systemctl enable --now docker',
      'curl -fsS --retry 5 -X PUT http://169.254.169.254/latest/api/token -H X-aws-ec2-metadata-token-ttl-seconds: 300',
      'curl -fsS --retry 5 -H X-aws-ec2-metadata-token: token-1 http://169.254.169.254/latest/meta-data/placement/region',
      `docker pull ${ECR_IMAGE}`,
      'docker rm -f katapult-maestro',
      `docker run -d --name katapult-maestro --network host --restart unless-stopped -v ${root}/var/lib/katapult:/state --env-file ${root}/etc/katapult/maestro.env ${ECR_IMAGE}`,
    ]);
    const state = join(root, 'var/lib/katapult');
    for (const folder of [state, join(state, 'tls')]) expect(statSync(folder).mode & 0o777).toBe(0o700);
    for (const [path, content] of Object.entries(options.stateFiles)) {
      expect(statSync(join(state, path)).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(state, path), 'utf8')).toBe(content);
    }
    const envFile = join(root, 'etc/katapult/maestro.env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, 'utf8')).toBe(
      'KATAPULT_CLUSTER=demo\nKATAPULT_NATS_PASSWORD=p4ss\'w$rd`x`"\nKATAPULT_ODD=KATAPULT_ENV_END\nKATAPULT_TLS_NAME=katapult-maestro\nAWS_REGION=eu-west-3\n',
    );
    expect(JSON.parse(readFileSync(join(root, 'root/.docker/config.json'), 'utf8'))).toEqual({
      credHelpers: { '123456789012.dkr.ecr.eu-west-3.amazonaws.com': 'ecr-login' },
    });
    expect(existsSync('/tmp/kp-pwned')).toBe(false);
    expect(run.stdout).toContain('katapult: maestro started');
  });

  it('installs Docker and the ECR credential helper with apt when they are missing', () => {
    const { run, calls } = sandbox(ALL.filter((name) => name !== 'docker' && name !== 'docker-credential-ecr-login'));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(calls.slice(0, 3)).toEqual([
      'apt-get update -q',
      'apt-get install -y -q --no-install-recommends docker.io amazon-ecr-credential-helper',
      'systemctl enable --now docker',
    ]);
    expect(calls).toContain(`docker pull ${ECR_IMAGE}`);
  });

  it('from another registry: no credential helper, no docker config', () => {
    const image = 'registry.example.com/katapult/maestro:1';
    const { run, calls, root } = sandbox(
      ALL.filter((name) => name !== 'docker-credential-ecr-login'),
      {},
      { ...options, image },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(calls.some((call) => call.startsWith('apt-get'))).toBe(false);
    expect(existsSync(join(root, 'root/.docker/config.json'))).toBe(false);
    expect(calls).toContain(`docker pull ${image}`);
  });

  it('reads IMDS at KATAPULT_IMDS_URL when set (tests only)', () => {
    const { run, calls } = sandbox(ALL, { KATAPULT_IMDS_URL: 'http://127.0.0.1:8111' });
    expect(run.status).toBe(0);
    expect(calls.filter((call) => call.startsWith('curl'))).toEqual([
      'curl -fsS --retry 5 -X PUT http://127.0.0.1:8111/latest/api/token -H X-aws-ec2-metadata-token-ttl-seconds: 300',
      'curl -fsS --retry 5 -H X-aws-ec2-metadata-token: token-1 http://127.0.0.1:8111/latest/meta-data/placement/region',
    ]);
  });

  it('a region IMDS should not give fails the boot before anything is written', () => {
    const { run, calls, root } = sandbox(ALL, { IMDS_REGION: 'eu-west-3"\nX=1' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('katapult: boot failed: unexpected region');
    expect(calls.at(-1)).toBe('shutdown -h +5 katapult: boot failed');
    expect(existsSync(join(root, 'etc/katapult/maestro.env'))).toBe(false);
  });

  it('a pull that keeps failing powers off after 5 minutes and starts nothing', () => {
    const { run, calls } = sandbox(ALL, { PULL_FAILS: '1' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`katapult: boot failed: could not pull ${ECR_IMAGE}; powering off in 5 minutes`);
    expect(calls.filter((call) => call.startsWith('docker pull'))).toHaveLength(5);
    expect(calls.filter((call) => call.startsWith('sleep'))).toEqual(['sleep 5', 'sleep 10', 'sleep 15', 'sleep 20']);
    expect(calls.at(-1)).toBe('shutdown -h +5 katapult: boot failed');
    expect(calls.some((call) => call.startsWith('docker run'))).toBe(false);
  });
});
