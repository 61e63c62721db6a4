"""The runtime must run on an edge box without torch: importing it must not pull torch in."""

from __future__ import annotations

import subprocess
import sys

RUNTIME_MODULES = [
    "engine",
    "deepscreen_cli.app",
    "engine.doctor",
    "engine.preprocess",
]


def test_runtime_imports_do_not_import_torch() -> None:
    code = (
        "import importlib, sys\n"
        "import pkgutil, engine\n"
        f"for m in {RUNTIME_MODULES!r}: importlib.import_module(m)\n"
        # Every runtime module that exists, so new modules are covered automatically.
        "for info in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    importlib.import_module(info.name)\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"engine imported torch modules: {out.stdout.strip()[:200]}"
