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
# A small young generation (2 MiB semi-spaces; V8 grows it to 16 MiB while starting and never shrinks it
# at rest), as for the agent (infra/launcher/stack.ts).
exec node --max-semi-space-size=2 "$launcher" "$@"
