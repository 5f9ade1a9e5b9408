#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine, and only what is missing: the system
# packages in DEPS below and the npm packages. Used by both README commands (infra/up.sh and
# test/run.sh). Set GC_WITH_WINE=1 to add the Windows suite's Wine.
# Usage: bash infra/install-deps.sh [--check]
#   --check  installs nothing; exits 1 naming every missing program, library or file.
set -euo pipefail
cd "$(dirname "$0")/.."

# The one list of what the product and its tests run or load, used both to install and to check.
# Each entry: <kind> <name> <Debian package> [wine]
#   bin   a program run by name (found on PATH, /usr/sbin or /sbin)
#   lib   a shared library the agent loads by soname with koffi
#   file  a path (a glob) that must exist
#   wine  as last word: needed only by the Windows suite (test/windows/run.sh), with GC_WITH_WINE=1
# test/unit/install-deps.unit.test.ts fails when a .ts file runs a program that is not named here.
DEPS=(
  # the servers
  "bin nats-server nats-server"
  # certificates: the launcher's private CA and NATS server certificate (infra/servers/tls-ca.ts),
  # and the local gateway's self-signed one (GC_HTTPS=1)
  "bin openssl openssl"
  "file /usr/lib/postgresql/*/bin/initdb postgresql"
  "bin pg_config postgresql-common"
  # the single-file agent build unpacks the Windows Node from its npm tarball (infra/build/agent-binary.ts)
  "bin tar tar"
  # virtual X displays and the X tools the launcher and the tests run on them
  "bin Xvfb xvfb"
  "bin xdpyinfo x11-utils"
  "bin xsetroot x11-xserver-utils"
  "bin xdotool xdotool"
  # the Linux agent: terminals (script, stty), services (service; systemctl comes with systemd),
  # and the tests' session users and helpers
  "bin script bsdutils"
  "bin stty coreutils"
  "bin service init-system-helpers"
  "bin useradd passwd"
  "bin setsid util-linux"
  "bin perl perl-base"
  # the process-list tests and bench compare with ps
  "bin ps procps"
  # the slow-link viewer bench and test: a network namespace, a TUN link and its rate limit (test/support/slow-link.ts)
  "bin ip iproute2"
  "bin tc iproute2"
  # libraries the agent loads with koffi (X capture and input, cursor, TurboJPEG tiles)
  "lib libX11.so.6 libx11-6"
  "lib libXext.so.6 libxext6"
  "lib libXtst.so.6 libxtst6"
  "lib libXfixes.so.3 libxfixes3"
  "lib libXss.so.1 libxss1"
  "lib libturbojpeg.so.0 libturbojpeg0"
  # the end-to-end tests: Chromium, and a font for the pages it renders
  "bin chromium chromium"
  "file /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf fonts-dejavu-core"
  # the benches' scrolling-text scene (test/support/x-scenes.ts)
  "file /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf fonts-dejavu-core"
  # the Windows suite under Wine
  "bin wine wine wine"
  "bin wineboot wine wine"
  "bin wineserver wine wine"
  "file /usr/lib/wine/wine64 wine64 wine"
)

check_only=0
case "${1:-}" in
  --check) check_only=1 ;;
  "") ;;
  *) echo "usage: bash infra/install-deps.sh [--check]" >&2; exit 2 ;;
esac

present() { # present <kind> <name>
  case "$1" in
    bin) command -v "$2" >/dev/null 2>&1 || [ -x "/usr/sbin/$2" ] || [ -x "/sbin/$2" ] ;;
    lib) /sbin/ldconfig -p 2>/dev/null | awk -v n="$2" '$1 == n { found = 1 } END { exit !found }' ;;
    file) compgen -G "$2" >/dev/null ;;
    *) echo "install-deps.sh: unknown kind '$1' in DEPS" >&2; exit 2 ;;
  esac
}

missing=()
packages=()
for entry in "${DEPS[@]}"; do
  read -r kind name package only <<<"$entry"
  if [ "${only:-}" = wine ] && [ "${GC_WITH_WINE:-0}" != 1 ]; then continue; fi
  present "$kind" "$name" && continue
  missing+=("$name ($package)")
  [[ " ${packages[*]} " == *" $package "* ]] || packages+=("$package")
done
npm_stale=0
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm_stale=1; fi

if [ "$check_only" = 1 ]; then
  [ "$npm_stale" = 1 ] && missing+=("npm packages (npm ci)")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "missing: ${missing[*]}" >&2
    echo "install them with: bash infra/install-deps.sh" >&2
    exit 1
  fi
  echo "all dependencies present"
  exit 0
fi

if [ ${#packages[@]} -gt 0 ]; then
  echo "installing system packages: ${packages[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file.
if [ "$npm_stale" = 1 ]; then
  echo "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
