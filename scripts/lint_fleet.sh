#!/usr/bin/env bash
# Lint deploy/ (CI): every screening config file with `deepscreen config check` (with the env file
# that holds its ${NAME} secrets), Kubernetes schemas + cross-references + the ConfigMap's worker
# configs (scripts/lint_fleet.py, kubernetes-validate from the dev extra), then
# `docker compose config` where the Compose plugin exists (said loudly when it does not).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
for config in deploy/fleet/workers/worker-*.yaml; do
    "$PY" -m deepscreen_cli.app config check "$config" --env-file "${config%.yaml}.env"
done
"$PY" -m deepscreen_cli.app config check deploy/deepscreen.yaml \
    --env-file deploy/deepscreen.env.example
"$PY" scripts/lint_fleet.py
if docker compose version >/dev/null 2>&1; then
    docker compose -f deploy/fleet/docker-compose.yml config --quiet
    echo "fleet lint: docker compose config passed"
else
    echo "fleet lint: docker compose not available here; Compose checked structurally only"
fi
