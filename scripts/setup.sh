#!/usr/bin/env bash
# Installs what Katapult's local default needs, then installs and builds the workspace.
#   Debian/Ubuntu: docker.io, nats-server, docker-registry, debootstrap, openssl, chromium (apt), pnpm (npm), and starts dockerd
#   when it is not running. Elsewhere: prints what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=10.34.9
say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

need_packages=()
command -v dockerd >/dev/null 2>&1 || need_packages+=(docker.io)
[ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null 2>&1 || need_packages+=(nats-server)
command -v docker-registry >/dev/null 2>&1 || need_packages+=(docker-registry)
[ -x /usr/sbin/debootstrap ] || command -v debootstrap >/dev/null 2>&1 || need_packages+=(debootstrap)
command -v openssl >/dev/null 2>&1 || need_packages+=(openssl)
# Only the tests use it: the dashboard's end-to-end test drives it headless, at this path.
[ -x /usr/bin/chromium ] || need_packages+=(chromium)

if [ ${#need_packages[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    say "installing ${need_packages[*]} with apt-get"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_packages[@]}" >/dev/null
  else
    say "please install: ${need_packages[*]} (Docker engine, nats-server >= 2.9 with JetStream, the distribution registry, debootstrap, openssl, chromium for the tests)"
    exit 1
  fi
fi

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    # Containers and CI machines often have no systemd: then start the engine directly.
    if ! { command -v systemctl >/dev/null 2>&1 && systemctl start docker 2>/dev/null; }; then
      say "starting dockerd (log: /var/log/katapult-dockerd.log)"
      nohup dockerd >/var/log/katapult-dockerd.log 2>&1 &
    fi
  else
    sudo systemctl start docker || { say "start the Docker engine (sudo dockerd &) and run this again"; exit 1; }
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { say "the Docker engine did not come up; see /var/log/katapult-dockerd.log"; exit 1; }
fi
say "Docker engine $(docker version --format '{{.Server.Version}}') is up"

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$PNPM_VERSION" ]; then
  say "installing pnpm $PNPM_VERSION"
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1
fi

# --no-build: CI's `pnpm test` builds first anyway.
if [ "${1:-}" = "--no-build" ]; then
  say "installing dependencies (lockfile)"
  pnpm install --frozen-lockfile --reporter=silent
else
  say "installing dependencies (lockfile) and building"
  pnpm install --frozen-lockfile --reporter=silent
  pnpm run build >/dev/null
fi
say "ready: run 'pnpm example' for examples/hello, 'pnpm test' for the tests"
