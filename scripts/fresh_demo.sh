#!/usr/bin/env bash
# The README's first command on a fresh clone with nothing but the runtime installed:
# clone this checkout's HEAD into a temporary folder, run `make demo` there (it creates .venv
# and installs the runtime alone), then import every runtime module in that environment and
# check that no train-only package came along. CI runs it before anything else is installed
# (issue 30: `make demo` once failed on a fresh clone with "No module named 'onnx'").
set -euo pipefail
cd "$(dirname "$0")/.."
src="$(pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$src" "$work/deepscreen"
cd "$work/deepscreen"
make demo
.venv/bin/python - <<'PY'
import importlib
import importlib.util
import pkgutil

import engine

modules = [info.name for info in pkgutil.walk_packages(engine.__path__, "engine.")]
modules += [f"deepscreen_cli.{m}" for m in ("app", "demo_cmd", "doctor_cmd", "groups",
                                            "live_outputs", "screen_cmd", "demo", "demo.clip",
                                            "demo.face_swap", "demo.run")]
for name in modules:
    importlib.import_module(name)
extra = [p for p in ("onnx", "torch", "torchvision", "sklearn") if importlib.util.find_spec(p)]
assert not extra, f"the runtime-only install has train packages: {extra}"
print(f"fresh clone: make demo ran and {len(modules)} runtime modules import without "
      "onnx or torch")
PY
