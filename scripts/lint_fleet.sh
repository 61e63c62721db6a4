#!/usr/bin/env bash
# Lint deploy/fleet/ (CI): Kubernetes schemas + cross-references + worker command lines
# (scripts/lint_fleet.py, kubernetes-validate from the dev extra), then `docker compose config`
# where the Compose plugin exists (said loudly when it does not).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
"$PY" scripts/lint_fleet.py
if docker compose version >/dev/null 2>&1; then
    docker compose -f deploy/fleet/docker-compose.yml config --quiet
    echo "fleet lint: docker compose config passed"
else
    echo "fleet lint: docker compose not available here; Compose checked structurally only"
fi
