import { ecrRegistryHost, encodeAgentEnv, ExitCode, KatapultError, shellQuote } from '@katapult/core';
import { bootPreamble, ecrLogin, envLineProblem, failHandler, imdsFunction, installTools, pullImage } from './boot-script.js';

/** What an instance's agent is told at boot; the same variables the local provider gives its agent containers. */
export interface UserDataOptions {
  /** The agent image, pulled by the instance; in ECR (`<account>.dkr.ecr.<region>.amazonaws.com/katapult/...`) it logs in with its role. */
  agentImage: string;
  /** NATS as the instance reaches it (not 127.0.0.1), and the restricted agent user. */
  natsUrl: string;
  natsUser?: string | undefined;
  natsPassword?: string | undefined;
  cluster: string;
  cpus: number;
  memoryBytes?: number | null | undefined;
  stackLabel: string;
  heartbeatMs?: number | undefined;
  /** `eco_life` in seconds: the instance powers itself off (so terminates) after it, coordinator or not. */
  lifetimeSeconds?: number | null | undefined;
  /** Watched by the agent for a spot interruption notice; by default the IMDS address the script itself reads. */
  metadataUrl?: string | undefined;
  /** The instance's `gpu` (InstanceSpec): when set, the NVIDIA container toolkit is installed and Docker configured for it. */
  gpu?: string | null | undefined;
  /** The agent's id, when it was issued its own NATS user before launch; by default the instance id. */
  agentId?: string | undefined;
  /** The pool the instance was launched for (KATAPULT_POOL). */
  pool?: string | undefined;
  /** The stack's CA certificate (PEM) when NATS speaks TLS; the env file carries it base64-encoded, on one line. */
  natsCa?: string | undefined;
  /** The name on NATS's certificate, when the instance dials NATS by another (KATAPULT_NATS_TLS_NAME). */
  natsTlsName?: string | undefined;
}

export const AGENT_CONTAINER = 'katapult-agent';
const NVIDIA_REPO = 'https://nvidia.github.io/libnvidia-container';
const NVIDIA_KEYRING = '/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg';

// Shared with the agent, which asks ECR for a token when it pulls job images; re-exported for this module's importers.
export { ecrRegistryHost };

/**
 * The boot script, as EC2 user-data (cloud-init runs it once, as root, at first boot, and copies its output to
 * /var/log/cloud-init-output.log and the console). It installs Docker (and the ECR credential helper when the
 * agent image is in ECR) when missing, with apt or dnf; reads the instance id from IMDSv2; writes the agent's
 * environment to a 0600 file (never on a command line); pulls the agent image with the instance role; starts the
 * agent with host networking and the Docker socket, as locally. The instance is replaced, never revived: when the
 * agent's container ends, or the boot fails (after 5 minutes left to read the log), or the instance reboots, it
 * powers off, which terminates it (the provider launches with InstanceInitiatedShutdownBehavior=terminate).
 * With a `gpu`, it installs NVIDIA's container toolkit (the driver comes with the image), registers its runtime
 * with Docker and tells the agent how many GPUs `nvidia-smi -L` lists (KATAPULT_GPUS; 0 without a `gpu`). The
 * instance type (IMDS `instance-type`) goes to the agent as KATAPULT_INSTANCE_TYPE, to be shown with it.
 * Test-only variables, unset on an instance: KATAPULT_BOOT_ROOT prefixes every path the script writes;
 * KATAPULT_IMDS_URL replaces the IMDS address, read by the script and handed to the agent.
 */
export function renderUserData(options: UserDataOptions): string {
  const ecrHost = ecrRegistryHost(options.agentImage);
  const env = Object.entries(
    encodeAgentEnv(
      {
        natsUrl: options.natsUrl,
        ...(options.natsUser ? { natsUser: options.natsUser, natsPassword: options.natsPassword ?? '' } : {}),
        ...(options.natsCa ? { natsCa: options.natsCa } : {}),
        ...(options.natsTlsName ? { natsTlsName: options.natsTlsName } : {}),
        // Unset: the boot script gives the instance's id as the agent's (with its GPUs and type).
        ...(options.agentId ? { agentId: options.agentId } : {}),
        ...(options.pool ? { pool: options.pool } : {}),
        cluster: options.cluster,
        cpus: options.cpus,
        ...(typeof options.memoryBytes === 'number' ? { memoryBytes: options.memoryBytes } : {}),
        stackLabel: options.stackLabel,
        heartbeatMs: options.heartbeatMs ?? 2000,
        ...(options.metadataUrl ? { metadataUrl: options.metadataUrl } : {}),
      },
      { oneLine: true },
    ),
  );
  for (const [name, value] of env) {
    if (envLineProblem(value)) {
      throw new KatapultError('KP_AWS_USER_DATA', `${name} cannot hold a line break or a NUL character`, { exitCode: ExitCode.badInput });
    }
  }
  const lifeMinutes = options.lifetimeSeconds ? Math.max(1, Math.ceil(options.lifetimeSeconds / 60)) : null;

  return [
    ...bootPreamble(
      'Katapult agent boot script (EC2 user-data), written by the AWS provider. Runs once, as root, at first boot.',
      'AGENT_IMAGE',
      options.agentImage,
    ),
    '',
    ...failHandler('boot'),
    '',
    ...(lifeMinutes
      ? [
          `# eco_life: this instance lives at most ${lifeMinutes} minutes, even with no coordinator left to stop it.`,
          `shutdown -h +${lifeMinutes} 'katapult: eco_life reached'`,
          '',
        ]
      : []),
    '# A reboot would bring the instance back with no agent: it powers off instead, as it was replaced meanwhile.',
    'mkdir -p "$ROOT/var/lib/cloud/scripts/per-boot"',
    'printf \'#!/bin/sh\\nshutdown -h now "katapult: rebooted, replaced"\\n\' >"$ROOT/var/lib/cloud/scripts/per-boot/katapult-replaced.sh"',
    'chmod 755 "$ROOT/var/lib/cloud/scripts/per-boot/katapult-replaced.sh"',
    '',
    ...installTools(Boolean(ecrHost)),
    '',
    ...(options.gpu ? gpuSetup() : []),
    '# IMDSv2 (a session token first); the provider launches with HttpTokens=required and a hop limit of 1, so',
    "# job containers on Docker's bridge network cannot reach it, nor the instance role's credentials.",
    ...imdsFunction(),
    'INSTANCE_ID=$(imds instance-id)',
    '[[ "$INSTANCE_ID" =~ ^i-[0-9a-f]+$ ]] || fail "unexpected instance id \\"$INSTANCE_ID\\""',
    '# Only shown where agents are listed: without it (or with an odd answer) the agent still runs.',
    'INSTANCE_TYPE=$(imds instance-type || true)',
    '[[ "$INSTANCE_TYPE" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] || INSTANCE_TYPE=',
    '',
    ...ecrLogin(ecrHost),
    "# The agent's environment, readable by root only; its id is the instance id, so a replacement is a new agent.",
    'mkdir -p "$ROOT/etc/katapult"',
    '(',
    '  umask 077',
    '  {',
    "    cat <<'KATAPULT_ENV_END'",
    ...env.map(([name, value]) => `${name}=${value}`),
    'KATAPULT_ENV_END',
    ...(options.metadataUrl ? [] : ['    echo "KATAPULT_METADATA_URL=$IMDS"']),
    ...(options.agentId ? [] : ['    echo "KATAPULT_AGENT_ID=$INSTANCE_ID"']),
    '    echo "KATAPULT_INSTANCE_ID=$INSTANCE_ID"',
    options.gpu ? '    echo "KATAPULT_GPUS=$GPUS"' : '    echo "KATAPULT_GPUS=0"',
    '    if [ -n "$INSTANCE_TYPE" ]; then echo "KATAPULT_INSTANCE_TYPE=$INSTANCE_TYPE"; fi',
    '  } >"$ROOT/etc/katapult/agent.env"',
    ')',
    'chmod 600 "$ROOT/etc/katapult/agent.env"',
    '',
    ...pullImage('AGENT_IMAGE'),
    `docker rm -f ${AGENT_CONTAINER} >/dev/null 2>&1 || true`,
    `docker run -d --name ${AGENT_CONTAINER} --network host --restart no \\`,
    `  --label katapult.stack=${shellQuote(options.stackLabel)} --label katapult.role=agent \\`,
    '  -v /var/run/docker.sock:/var/run/docker.sock \\',
    '  --env-file "$ROOT/etc/katapult/agent.env" "$AGENT_IMAGE"',
    '',
    '# Replaced, not revived: when the agent ends, the instance powers off, which terminates it.',
    `systemd-run --unit katapult-agent-watch --description 'Katapult: power off when the agent ends' \\`,
    `  /bin/sh -c 'docker wait ${AGENT_CONTAINER}; shutdown -h now "katapult: the agent ended"'`,
    'echo "katapult: agent $INSTANCE_ID started"',
    '',
  ].join('\n');
}

/**
 * NVIDIA's documented install of the container toolkit from its own apt or dnf repository (skipped when the image
 * has it already, as NVIDIA's GPU images do), then its runtime registered in /etc/docker/daemon.json; Docker only
 * reads that file when it starts, hence the restart.
 */
function gpuSetup(): string[] {
  return [
    '# A GPU instance: jobs reach the GPU through the NVIDIA container toolkit.',
    'if ! command -v nvidia-ctk >/dev/null 2>&1; then',
    '  if command -v apt-get >/dev/null 2>&1; then',
    '    command -v gpg >/dev/null 2>&1 || install_packages gnupg',
    '    mkdir -p "$ROOT/usr/share/keyrings" "$ROOT/etc/apt/sources.list.d"',
    `    curl -fsSL --retry 5 ${NVIDIA_REPO}/gpgkey | gpg --batch --yes --dearmor -o "$ROOT${NVIDIA_KEYRING}"`,
    `    curl -fsSL --retry 5 ${NVIDIA_REPO}/stable/deb/nvidia-container-toolkit.list \\`,
    `      | sed 's#deb https://#deb [signed-by=${NVIDIA_KEYRING}] https://#g' >"$ROOT/etc/apt/sources.list.d/nvidia-container-toolkit.list"`,
    '  else',
    '    mkdir -p "$ROOT/etc/yum.repos.d"',
    `    curl -fsSL --retry 5 ${NVIDIA_REPO}/stable/rpm/nvidia-container-toolkit.repo >"$ROOT/etc/yum.repos.d/nvidia-container-toolkit.repo"`,
    '  fi',
    '  install_packages nvidia-container-toolkit',
    'fi',
    'nvidia-ctk runtime configure --runtime=docker',
    'systemctl restart docker',
    // `nvidia-smi -L` lists one `GPU <n>: …` line per GPU (and indented MIG lines, not counted); with no driver, none.
    '# The GPUs the driver sees are the ones the agent offers to jobs.',
    'GPUS=0',
    'while IFS= read -r line; do',
    '  if [[ "$line" == GPU\\ * ]]; then GPUS=$((GPUS + 1)); fi',
    'done < <(nvidia-smi -L 2>/dev/null || true)',
    'if [ "$GPUS" -eq 0 ]; then echo "katapult: nvidia-smi lists no GPU (is the NVIDIA driver in the image?); the agent offers none" >&2; fi',
    '',
  ];
}
