#!/usr/bin/env bash
# Prove that the runtime install of deepscreen (no `train` extra) resolves to binary wheels on a
# Jetson: Linux aarch64, CPython 3.10 (JetPack 6's Python), glibc manylinux_2_28 or older.
#
# It asks pip to resolve `deepscreen` for that target without installing anything
# (`pip install --dry-run --only-binary=:all: --platform ...`), then checks pip's JSON report:
#   - every runtime dependency of deepscreen is in the resolved set,
#   - every compiled wheel is built for aarch64 (pure-Python wheels are fine),
#   - torch (or any torch* / nvidia-* package) is NOT pulled in.
# It fails when any dependency has no aarch64 wheel (pip cannot resolve with --only-binary).
#
# Usage: scripts/check_aarch64.sh [--python-version 3.10] [--also REQ ...] [-v]
#   --also REQ   add a requirement to the resolution (to show the check fails, e.g. --also torch)
#   -v           print pip's output and the resolved wheels even on success
# Env: PYTHON (default: .venv/bin/python if present, else python3) runs pip.
# Exit: 0 ok, 1 check failed, 2 usage error. Needs network access to the package index (or a
# local mirror configured in pip.conf); it downloads metadata only, not the wheels.
set -euo pipefail
cd "$(dirname "$0")/.."

PYVER=3.10
VERBOSE=0
ALSO=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --python-version) PYVER="$2"; shift 2 ;;
        --also) ALSO+=("$2"); shift 2 ;;
        -v|--verbose) VERBOSE=1; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "check_aarch64: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
ABI="cp${PYVER/./}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/deepscreen-aarch64.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# --target is required by pip with --platform; nothing is written there in a dry run.
# PIP_CONSTRAINT is cleared: constraints pinned for this machine's own venv must not leak into
# the resolution for another platform.
set +e
PIP_CONSTRAINT="" PIP_DISABLE_PIP_VERSION_CHECK=1 "$PYTHON" -m pip install \
    --dry-run --ignore-installed --no-cache-dir --quiet \
    --report "$TMP/report.json" --target "$TMP/target" \
    --platform manylinux2014_aarch64 --platform manylinux_2_17_aarch64 \
    --platform manylinux_2_28_aarch64 \
    --python-version "$PYVER" --implementation cp --abi "$ABI" \
    --only-binary=:all: \
    . "${ALSO[@]}" >"$TMP/pip.log" 2>&1
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
    echo "check_aarch64: FAIL: pip cannot resolve the runtime install for linux-aarch64 cp${PYVER/./} with binary wheels only:" >&2
    grep -E "ERROR|No matching distribution|Could not find" "$TMP/pip.log" | grep -v "is ignored" | head -n 10 >&2 || tail -n 20 "$TMP/pip.log" >&2
    exit 1
fi
[[ $VERBOSE -eq 1 ]] && grep -v "is ignored" "$TMP/pip.log" || true

"$PYTHON" - "$TMP/report.json" "$VERBOSE" "$PYVER" <<'EOF'
import json
import re
import sys

report_path, verbose, pyver = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
report = json.load(open(report_path))


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


items = report["install"]
resolved = {norm(i["metadata"]["name"]): i for i in items}
problems = []

root = resolved.get("deepscreen")
if root is None:
    sys.exit("check_aarch64: FAIL: deepscreen itself is missing from pip's report")
# Runtime requirements = those without an `extra == ...` marker.
runtime = []
for req in root["metadata"].get("requires_dist", []):
    if re.search(r"\bextra\s*==", req):
        continue
    runtime.append(norm(re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0]))
for name in runtime:
    if name not in resolved:
        problems.append(f"runtime dependency {name} was not resolved")

for name, item in sorted(resolved.items()):
    url = item["download_info"]["url"]
    fname = url.rsplit("/", 1)[-1]
    if name == "deepscreen":
        continue
    if not fname.endswith(".whl"):
        problems.append(f"{name}: not a wheel ({fname})")
        continue
    platform_tag = fname[:-4].split("-")[-1]
    if platform_tag != "any" and "aarch64" not in platform_tag:
        problems.append(f"{name}: wheel is not for aarch64 ({fname})")
    if name == "torch" or name.startswith(("torch", "nvidia-", "triton")):
        problems.append(f"{name} would be installed: the runtime must stay free of torch/CUDA wheels")

compiled = sorted(
    f"{n}=={i['metadata']['version']}"
    for n, i in resolved.items()
    if n != "deepscreen" and not i["download_info"]["url"].endswith("-any.whl")
)
if verbose:
    for name, item in sorted(resolved.items()):
        print(f"  {name}=={item['metadata']['version']}  {item['download_info']['url'].rsplit('/', 1)[-1]}")
if problems:
    for p in problems:
        print(f"check_aarch64: FAIL: {p}", file=sys.stderr)
    sys.exit(1)
print(
    f"check_aarch64: ok: {len(resolved) - 1} packages resolve for linux-aarch64 cp{pyver.replace('.', '')}"
    f" (compiled: {', '.join(compiled)}); runtime deps {', '.join(runtime)}; no torch"
)
EOF
