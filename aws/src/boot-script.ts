import { shellQuote } from '@katapult/core';

/**
 * The bash both boot scripts share (an agent's, user-data.ts, and the maestro's, maestro-user-data.ts), each a
 * function returning lines. Test-only variables, unset on an instance: KATAPULT_BOOT_ROOT prefixes every path
 * written; KATAPULT_IMDS_URL replaces the IMDS address.
 */
export const METADATA_URL = 'http://169.254.169.254';

/** Strict mode, the test-only prefixes and `IMAGE_VAR=<image>`. */
export function bootPreamble(title: string, imageVar: string, image: string): string[] {
  return [
    '#!/bin/bash',
    `# ${title}`,
    'set -Eeuo pipefail',
    'ROOT="${KATAPULT_BOOT_ROOT:-}"',
    `IMDS="\${KATAPULT_IMDS_URL:-${METADATA_URL}}"`,
    `${imageVar}=${shellQuote(image)}`,
  ];
}

/** `fail`: a failed boot says why and powers off after 5 minutes, left to read the log. */
export function failHandler(bootLine: string): string[] {
  return [
    'fail() {',
    '  echo "katapult: boot failed: $*; powering off in 5 minutes" >&2',
    '  shutdown -h +5 "katapult: boot failed" || true',
    '  exit 1',
    '}',
    'trap \'fail "line $LINENO"\' ERR',
    `echo "katapult: ${bootLine} $(date -u +%Y-%m-%dT%H:%M:%SZ)"`,
    // It goes into an env file, where a space or line break would cut it.
    '[[ "$IMDS" =~ ^https?://[^[:space:]]+$ ]] || fail "KATAPULT_IMDS_URL is not an http address"',
  ];
}

/** curl and Docker (and the ECR credential helper for an image in ECR), installed with apt or dnf when missing; Docker enabled. */
export function installTools(withEcrHelper: boolean): string[] {
  const tools = ['curl', 'docker', ...(withEcrHelper ? ['docker-credential-ecr-login'] : [])];
  return [
    'install_packages() {',
    '  if command -v apt-get >/dev/null 2>&1; then',
    '    export DEBIAN_FRONTEND=noninteractive',
    '    apt-get update -q',
    '    apt-get install -y -q --no-install-recommends "$@"',
    '  else',
    '    dnf install -y -q "$@"',
    '  fi',
    '}',
    'package_of() {',
    '  case "$1" in',
    '    docker) if command -v apt-get >/dev/null 2>&1; then echo docker.io; else echo docker; fi ;;',
    '    docker-credential-ecr-login) echo amazon-ecr-credential-helper ;;',
    '    *) echo "$1" ;;',
    '  esac',
    '}',
    'missing=()',
    `for tool in ${tools.join(' ')}; do`,
    '  command -v "$tool" >/dev/null 2>&1 || missing+=("$(package_of "$tool")")',
    'done',
    'if [ "${#missing[@]}" -gt 0 ]; then install_packages "${missing[@]}"; fi',
    // Enabled, so Docker (and a container it restarts) comes back after a reboot.
    'systemctl enable --now docker',
  ];
}

/** `imds PATH`: IMDSv2, a session token first (instances are launched with HttpTokens=required). */
export function imdsFunction(): string[] {
  return [
    'imds() {',
    '  local token',
    '  token=$(curl -fsS --retry 5 -X PUT "$IMDS/latest/api/token" -H \'X-aws-ec2-metadata-token-ttl-seconds: 300\')',
    '  curl -fsS --retry 5 -H "X-aws-ec2-metadata-token: $token" "$IMDS/latest/meta-data/$1"',
    '}',
  ];
}

/** For an image in ECR: docker asks the credential helper, which uses the instance role. */
export function ecrLogin(ecrHost: string | undefined): string[] {
  if (!ecrHost) return [];
  return [
    '# ECR login with the instance role: docker asks the credential helper for this registry.',
    'mkdir -p "$ROOT/root/.docker"',
    'chmod 700 "$ROOT/root/.docker"',
    `echo '{"credHelpers":{"${ecrHost}":"ecr-login"}}' >"$ROOT/root/.docker/config.json"`,
    '',
  ];
}

/** Pulls `$IMAGE_VAR`, five tries with growing pauses, and fails the boot after the last. */
export function pullImage(imageVar: string): string[] {
  return [
    'for attempt in 1 2 3 4 5; do',
    `  if docker pull "$${imageVar}"; then break; fi`,
    `  if [ "$attempt" -eq 5 ]; then fail "could not pull $${imageVar}"; fi`,
    '  sleep $((attempt * 5))',
    'done',
  ];
}

/** An env file's lines are taken as they are by `docker --env-file`: a line break would cut a value or start another variable. */
export function envLineProblem(value: string): boolean {
  return /[\r\n\0]/.test(value);
}
