#!/usr/bin/env bash
# Installs what is missing (system packages, npm packages) and starts the whole system:
# nats-server, PostgreSQL (or DATABASE_URL), projections, gateway and a local agent.
# Prints the dashboard URL. Ctrl-C stops everything. Extra arguments go to the launcher.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/install-deps.sh
# Every process runs built JavaScript on bare node (infra/launcher/build-stack.ts, built again only
# when a source changed), the launcher too: exec leaves no shell, npm or tsx resident beside it.
launcher=$(node --import tsx infra/launcher/build-cli.ts)
# At most two glibc malloc arenas in every process started from here (the launcher and the agent it
# starts; PostgreSQL and nats-server do not use them). By default each thread that calls malloc may
# get an arena of its own, up to 8 per core: V8's compiler and GC threads and libuv's pool fill theirs
# while the stack starts and keep the pages at rest (a 30 MiB arena with 13 MiB resident in the
# launcher). At rest (test/bench/memory.bench.ts, three runs): launcher 49-62 MiB instead of 64-67.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
# A small young generation (2 MiB semi-spaces; V8 grows it to 16 MiB while starting and never shrinks it
# at rest), as for the agent (infra/launcher/stack.ts).
exec node --max-semi-space-size=2 "$launcher" "$@"
