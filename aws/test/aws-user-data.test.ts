import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DOCKER_STUB, installsDocker, runInSandbox } from './boot-sandbox.js';
import { ecrRegistryHost, renderUserData, type UserDataOptions } from '../src/user-data.js';

const ECR_IMAGE = '123456789012.dkr.ecr.eu-west-3.amazonaws.com/katapult/agent:0a1b2c';
const options: UserDataOptions = {
  agentImage: ECR_IMAGE,
  natsUrl: 'nats://203.0.113.5:4222',
  natsUser: 'katapult-agent',
  natsPassword: "p4ss'word$x",
  cluster: 'demo',
  cpus: 4,
  memoryBytes: 8 * 1024 ** 3,
  stackLabel: 'stack-1',
  heartbeatMs: 2000,
  lifetimeSeconds: 7200,
};

describe('EC2 user-data (the boot script)', () => {
  it('is valid bash', () => {
    for (const variant of [
      options,
      { ...options, agentImage: 'registry.example.com/katapult/agent:1', lifetimeSeconds: null, natsUser: undefined },
      { ...options, gpu: 'nvidia-t4' },
    ]) {
      const checked = spawnSync('bash', ['-n'], { input: renderUserData(variant), encoding: 'utf8' });
      expect(checked.stderr).toBe('');
      expect(checked.status).toBe(0);
    }
  });

  it('says what the agent needs, in a root-only env file, and nothing on a command line', () => {
    const script = renderUserData(options);
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    expect(script).toContain(
      [
        "    cat <<'KATAPULT_ENV_END'",
        'KATAPULT_NATS_URL=nats://203.0.113.5:4222',
        'KATAPULT_NATS_USER=katapult-agent',
        "KATAPULT_NATS_PASSWORD=p4ss'word$x",
        'KATAPULT_CLUSTER=demo',
        'KATAPULT_CPUS=4',
        'KATAPULT_MEMORY_BYTES=8589934592',
        'KATAPULT_STACK_LABEL=stack-1',
        'KATAPULT_HEARTBEAT_MS=2000',
        'KATAPULT_ENV_END',
        '    echo "KATAPULT_METADATA_URL=$IMDS"',
        '    echo "KATAPULT_AGENT_ID=$INSTANCE_ID"',
        '    echo "KATAPULT_INSTANCE_ID=$INSTANCE_ID"',
        '    echo "KATAPULT_GPUS=0"',
        '    if [ -n "$INSTANCE_TYPE" ]; then echo "KATAPULT_INSTANCE_TYPE=$INSTANCE_TYPE"; fi',
      ].join('\n'),
    );
    expect(script).toContain(`AGENT_IMAGE=${ECR_IMAGE}`);
    expect(script).toContain('IMDS="${KATAPULT_IMDS_URL:-http://169.254.169.254}"');
    expect(script).toContain('{"credHelpers":{"123456789012.dkr.ecr.eu-west-3.amazonaws.com":"ecr-login"}}');
    expect(script).toContain("shutdown -h +120 'katapult: eco_life reached'");
    expect(script).toContain('--env-file "$ROOT/etc/katapult/agent.env"');
    expect(script.match(/p4ss/g)).toHaveLength(1);
  });

  it('leaves out the ECR login for another registry, and the life limit without eco_life', () => {
    const script = renderUserData({ ...options, agentImage: 'registry.example.com/katapult/agent:1', lifetimeSeconds: null });
    expect(script).not.toContain('credHelpers');
    expect(script).toContain('for tool in curl docker; do');
    expect(script).not.toContain('eco_life');
  });

  it('gives the agent a metadata address of its own when told one', () => {
    const script = renderUserData({ ...options, metadataUrl: 'http://10.0.0.9:8080' });
    expect(script).toContain('KATAPULT_HEARTBEAT_MS=2000\nKATAPULT_METADATA_URL=http://10.0.0.9:8080\nKATAPULT_ENV_END\n');
    expect(script).not.toContain('echo "KATAPULT_METADATA_URL=$IMDS"');
  });

  it("with a GPU, installs the NVIDIA container toolkit from NVIDIA's repository and registers it with Docker", () => {
    const script = renderUserData({ ...options, gpu: 'nvidia-t4' });
    const keyring = '/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg';
    expect(script).toContain(
      [
        'if ! command -v nvidia-ctk >/dev/null 2>&1; then',
        '  if command -v apt-get >/dev/null 2>&1; then',
        '    command -v gpg >/dev/null 2>&1 || install_packages gnupg',
        '    mkdir -p "$ROOT/usr/share/keyrings" "$ROOT/etc/apt/sources.list.d"',
        `    curl -fsSL --retry 5 https://nvidia.github.io/libnvidia-container/gpgkey | gpg --batch --yes --dearmor -o "$ROOT${keyring}"`,
        '    curl -fsSL --retry 5 https://nvidia.github.io/libnvidia-container/stable/deb/nvidia-container-toolkit.list \\',
        `      | sed 's#deb https://#deb [signed-by=${keyring}] https://#g' >"$ROOT/etc/apt/sources.list.d/nvidia-container-toolkit.list"`,
        '  else',
        '    mkdir -p "$ROOT/etc/yum.repos.d"',
        '    curl -fsSL --retry 5 https://nvidia.github.io/libnvidia-container/stable/rpm/nvidia-container-toolkit.repo >"$ROOT/etc/yum.repos.d/nvidia-container-toolkit.repo"',
        '  fi',
        '  install_packages nvidia-container-toolkit',
        'fi',
        'nvidia-ctk runtime configure --runtime=docker',
        'systemctl restart docker',
      ].join('\n'),
    );
    // Docker is there before its runtime is configured, and restarted before the agent image is pulled.
    expect(script.indexOf('systemctl enable --now docker')).toBeLessThan(script.indexOf('nvidia-ctk runtime configure'));
    expect(script.indexOf('systemctl restart docker')).toBeLessThan(script.indexOf('docker pull'));
    for (const gpu of [undefined, null, '']) expect(renderUserData({ ...options, gpu })).not.toContain('nvidia');
  });

  it('carries an agent id issued before launch, and the stack CA base64-encoded on one line', () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const script = renderUserData({ ...options, agentId: 'aws-0-1a2b3c4d', natsCa: ca });
    expect(script).toContain('KATAPULT_AGENT_ID=aws-0-1a2b3c4d\n');
    expect(script).toContain(`KATAPULT_NATS_CA_BASE64=${Buffer.from(ca).toString('base64')}\n`);
    expect(script).not.toContain('echo "KATAPULT_AGENT_ID=$INSTANCE_ID"');
    expect(script).toContain('echo "KATAPULT_INSTANCE_ID=$INSTANCE_ID"');
  });

  it("carries the name on NATS's certificate when the instance dials another, and nothing without it", () => {
    expect(renderUserData({ ...options, natsTlsName: 'maestro.katapult' })).toContain('KATAPULT_NATS_TLS_NAME=maestro.katapult\n');
    expect(renderUserData(options)).not.toContain('KATAPULT_NATS_TLS_NAME');
  });

  it('refuses a value that would break the env file', () => {
    expect(() => renderUserData({ ...options, natsPassword: 'a\nKATAPULT_CLUSTER=other' })).toThrow(
      /KATAPULT_NATS_PASSWORD cannot hold a line break/,
    );
  });

  it('recognizes ECR registries', () => {
    expect(ecrRegistryHost(ECR_IMAGE)).toBe('123456789012.dkr.ecr.eu-west-3.amazonaws.com');
    expect(ecrRegistryHost('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/katapult/agent:1')).toBe(
      '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn',
    );
    expect(ecrRegistryHost('127.0.0.1:5000/katapult/agent:1')).toBeUndefined();
  });
});

/**
 * The script run for real by bash, as root would at boot, but in a sandbox: every command it may call (docker,
 * curl, apt-get, systemctl, shutdown, systemd-run, sleep) is a stub on PATH that records its arguments, IMDS
 * answers through the curl stub, and KATAPULT_BOOT_ROOT moves every file it writes into a temporary folder.
 */
describe('the boot script, run in a sandbox', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function sandbox(stubs: string[], env: Record<string, string> = {}, rendered: UserDataOptions = options) {
    dir = mkdtempSync(join(tmpdir(), 'kp-boot-'));
    return runInSandbox(dir, renderUserData(rendered), {
      realTools: ['mkdir', 'chmod', 'cat', 'date', 'sed'],
      stubs,
      env,
      bodies: (bin) => ({
        docker: DOCKER_STUB,
        curl: 'case "$*" in *api/token*) echo token-1;; *instance-id*) echo i-0abc123;; *instance-type*) [ -n "$NO_TYPE" ] && exit 22; echo g4dn.xlarge;; *gpgkey*) echo KEY;; *deb/nvidia-container-toolkit.list*) echo "deb https://nvidia.github.io/libnvidia-container/stable/deb/\\$(ARCH) /";; esac',
        // Two GPUs, and a MIG device of the first, which is not one more GPU.
        'nvidia-smi': "printf 'GPU 0: Tesla T4 (UUID: GPU-1)\\nGPU 1: Tesla T4 (UUID: GPU-2)\\n  MIG 1g.5gb Device 0: (UUID: MIG-3)\\n'",
        // It reads the key, as gpg does: curl would otherwise write into a closed pipe.
        gpg: 'cat >/dev/null',
        // Installing a package puts its stub on PATH, as apt would.
        'apt-get': [
          installsDocker(bin),
          `case "$*" in *nvidia-container-toolkit*) printf '%s\\n' '#!/bin/sh' 'echo "nvidia-ctk $*" >>"$CALLS"' >"${bin}/nvidia-ctk"; /bin/chmod 755 "${bin}/nvidia-ctk";; esac`,
        ].join('\n'),
      }),
    });
  }

  const ALL = ['docker', 'curl', 'docker-credential-ecr-login', 'apt-get', 'systemctl', 'shutdown', 'systemd-run', 'sleep'];

  it('with Docker there: schedules eco_life, reads the instance id, logs in to ECR, writes the env file 0600, starts the agent', () => {
    const { run, calls, root } = sandbox(ALL);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(calls).toEqual([
      'shutdown -h +120 katapult: eco_life reached',
      'systemctl enable --now docker',
      'curl -fsS --retry 5 -X PUT http://169.254.169.254/latest/api/token -H X-aws-ec2-metadata-token-ttl-seconds: 300',
      'curl -fsS --retry 5 -H X-aws-ec2-metadata-token: token-1 http://169.254.169.254/latest/meta-data/instance-id',
      'curl -fsS --retry 5 -X PUT http://169.254.169.254/latest/api/token -H X-aws-ec2-metadata-token-ttl-seconds: 300',
      'curl -fsS --retry 5 -H X-aws-ec2-metadata-token: token-1 http://169.254.169.254/latest/meta-data/instance-type',
      `docker pull ${ECR_IMAGE}`,
      'docker rm -f katapult-agent',
      `docker run -d --name katapult-agent --network host --restart no --label katapult.stack=stack-1 --label katapult.role=agent -v /var/run/docker.sock:/var/run/docker.sock --env-file ${root}/etc/katapult/agent.env ${ECR_IMAGE}`,
      `systemd-run --unit katapult-agent-watch --description Katapult: power off when the agent ends /bin/sh -c docker wait katapult-agent; shutdown -h now "katapult: the agent ended"`,
    ]);
    const envFile = join(root, 'etc/katapult/agent.env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const env = readFileSync(envFile, 'utf8');
    expect(env).toContain("KATAPULT_NATS_PASSWORD=p4ss'word$x\n");
    expect(env).toContain('KATAPULT_METADATA_URL=http://169.254.169.254\n');
    expect(
      env.endsWith('KATAPULT_AGENT_ID=i-0abc123\nKATAPULT_INSTANCE_ID=i-0abc123\nKATAPULT_GPUS=0\nKATAPULT_INSTANCE_TYPE=g4dn.xlarge\n'),
    ).toBe(true);
    expect(JSON.parse(readFileSync(join(root, 'root/.docker/config.json'), 'utf8'))).toEqual({
      credHelpers: { '123456789012.dkr.ecr.eu-west-3.amazonaws.com': 'ecr-login' },
    });
    expect(readFileSync(join(root, 'var/lib/cloud/scripts/per-boot/katapult-replaced.sh'), 'utf8')).toBe(
      '#!/bin/sh\nshutdown -h now "katapult: rebooted, replaced"\n',
    );
    expect(run.stdout).toContain('katapult: agent i-0abc123 started');
  });

  it('installs Docker and the ECR credential helper with apt when they are missing', () => {
    const { run, calls } = sandbox(ALL.filter((name) => name !== 'docker' && name !== 'docker-credential-ecr-login'));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(calls.slice(1, 3)).toEqual([
      'apt-get update -q',
      'apt-get install -y -q --no-install-recommends docker.io amazon-ecr-credential-helper',
    ]);
    expect(calls).toContain(`docker pull ${ECR_IMAGE}`);
  });

  it('reads IMDS at KATAPULT_IMDS_URL when set (tests only) and hands that address to the agent', () => {
    const { run, calls, root } = sandbox(ALL, { KATAPULT_IMDS_URL: 'http://127.0.0.1:8111' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(calls.filter((call) => call.startsWith('curl'))).toEqual([
      'curl -fsS --retry 5 -X PUT http://127.0.0.1:8111/latest/api/token -H X-aws-ec2-metadata-token-ttl-seconds: 300',
      'curl -fsS --retry 5 -H X-aws-ec2-metadata-token: token-1 http://127.0.0.1:8111/latest/meta-data/instance-id',
      'curl -fsS --retry 5 -X PUT http://127.0.0.1:8111/latest/api/token -H X-aws-ec2-metadata-token-ttl-seconds: 300',
      'curl -fsS --retry 5 -H X-aws-ec2-metadata-token: token-1 http://127.0.0.1:8111/latest/meta-data/instance-type',
    ]);
    expect(readFileSync(join(root, 'etc/katapult/agent.env'), 'utf8')).toContain('KATAPULT_METADATA_URL=http://127.0.0.1:8111\n');
  });

  it('refuses a KATAPULT_IMDS_URL that is not an http address', () => {
    const { run, calls } = sandbox(ALL, { KATAPULT_IMDS_URL: 'http://a b' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('katapult: boot failed: KATAPULT_IMDS_URL is not an http address');
    expect(calls.some((call) => call.startsWith('docker'))).toBe(false);
  });

  it('with a GPU and the toolkit in the image: configures Docker for it, restarts Docker before pulling, and offers the GPUs nvidia-smi lists', () => {
    const { run, calls, root } = sandbox([...ALL, 'nvidia-ctk', 'nvidia-smi'], {}, { ...options, gpu: 'nvidia-t4' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(calls.slice(1, 6)).toEqual([
      'systemctl enable --now docker',
      'nvidia-ctk runtime configure --runtime=docker',
      'systemctl restart docker',
      'nvidia-smi -L',
      'curl -fsS --retry 5 -X PUT http://169.254.169.254/latest/api/token -H X-aws-ec2-metadata-token-ttl-seconds: 300',
    ]);
    expect(calls.some((call) => call.includes('nvidia.github.io'))).toBe(false);
    expect(readFileSync(join(root, 'etc/katapult/agent.env'), 'utf8')).toContain(
      'KATAPULT_INSTANCE_ID=i-0abc123\nKATAPULT_GPUS=2\nKATAPULT_INSTANCE_TYPE=g4dn.xlarge\n',
    );
  });

  it('with a GPU but no driver to list it: says so, and the agent starts offering none', () => {
    const { run, calls, root } = sandbox([...ALL, 'nvidia-ctk'], {}, { ...options, gpu: 'nvidia-t4' });
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('katapult: nvidia-smi lists no GPU (is the NVIDIA driver in the image?); the agent offers none\n');
    expect(readFileSync(join(root, 'etc/katapult/agent.env'), 'utf8')).toContain('KATAPULT_GPUS=0\n');
    expect(calls.some((call) => call.startsWith('docker run'))).toBe(true);
  });

  it('without an instance type from IMDS, the agent starts without one', () => {
    const { run, calls, root } = sandbox(ALL, { NO_TYPE: '1' });
    expect(run.status).toBe(0);
    const env = readFileSync(join(root, 'etc/katapult/agent.env'), 'utf8');
    expect(env.endsWith('KATAPULT_INSTANCE_ID=i-0abc123\nKATAPULT_GPUS=0\n')).toBe(true);
    expect(calls.some((call) => call.startsWith('docker run'))).toBe(true);
  });

  it("with a GPU and no toolkit: adds NVIDIA's apt repository with its key, installs the toolkit, then configures Docker", () => {
    const { run, calls, root } = sandbox([...ALL, 'gpg', 'nvidia-smi'], {}, { ...options, gpu: 'nvidia-t4' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const keyring = '/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg';
    // `curl … | gpg …` runs both at once: either may record its call first.
    expect(calls.slice(2, 4).sort()).toEqual([
      'curl -fsSL --retry 5 https://nvidia.github.io/libnvidia-container/gpgkey',
      `gpg --batch --yes --dearmor -o ${root}${keyring}`,
    ]);
    expect(calls.slice(4, 10)).toEqual([
      'curl -fsSL --retry 5 https://nvidia.github.io/libnvidia-container/stable/deb/nvidia-container-toolkit.list',
      'apt-get update -q',
      'apt-get install -y -q --no-install-recommends nvidia-container-toolkit',
      'nvidia-ctk runtime configure --runtime=docker',
      'systemctl restart docker',
      'nvidia-smi -L',
    ]);
    expect(readFileSync(join(root, 'etc/apt/sources.list.d/nvidia-container-toolkit.list'), 'utf8')).toBe(
      `deb [signed-by=${keyring}] https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n`,
    );
  });

  it('a boot that fails powers the instance off, after 5 minutes, and starts no agent', () => {
    const { run, calls } = sandbox(ALL, { PULL_FAILS: '1' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`katapult: boot failed: could not pull ${ECR_IMAGE}; powering off in 5 minutes`);
    expect(calls.filter((call) => call.startsWith('docker pull'))).toHaveLength(5);
    expect(calls.filter((call) => call.startsWith('sleep'))).toEqual(['sleep 5', 'sleep 10', 'sleep 15', 'sleep 20']);
    expect(calls.at(-1)).toBe('shutdown -h +5 katapult: boot failed');
    expect(calls.some((call) => call.startsWith('docker run'))).toBe(false);
  });
});
