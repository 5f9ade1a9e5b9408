#!/usr/bin/env bash
# Installs what is missing (system packages, npm packages) and starts the whole system:
# nats-server, PostgreSQL (or DATABASE_URL), projections, gateway and a local agent.
# Prints the dashboard URL. Ctrl-C stops everything. Extra arguments go to the launcher.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/install-deps.sh
exec npx tsx infra/launcher/main.ts "$@"
