#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine, and only what is missing:
# system packages (nats-server, PostgreSQL, Chromium, Xvfb and X tools) and the npm packages.
# Used by both README commands (infra/up.sh and test/run.sh). Set GC_WITH_WINE=1 to add Wine.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$2" ]; }
have nats-server /usr/sbin/nats-server || need+=(nats-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
have chromium /usr/bin/chromium || need+=(chromium)
have Xvfb /usr/bin/Xvfb || need+=(xvfb)
have xdpyinfo /usr/bin/xdpyinfo || need+=(x11-utils)
have xsetroot /usr/bin/xsetroot || need+=(x11-xserver-utils)
dpkg -s libxtst6 >/dev/null 2>&1 || need+=(libxtst6)
dpkg -s libxss1 >/dev/null 2>&1 || need+=(libxss1)
dpkg -s libxfixes3 >/dev/null 2>&1 || need+=(libxfixes3)
# TurboJPEG: the agent encodes live-view tiles with it (sharp is the slower fallback).
dpkg -s libturbojpeg0 >/dev/null 2>&1 || need+=(libturbojpeg0)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need+=(fonts-dejavu-core)
if [ "${GC_WITH_WINE:-0}" = 1 ]; then
  have wine /usr/bin/wine || need+=(wine wine64)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "installing system packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
