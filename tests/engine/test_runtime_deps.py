"""The runtime needs nothing beyond its declared dependencies (issue 30: `make demo` once failed
on a fresh clone because a function deep in the ORT backend imported ``onnx``).

Every ``import`` in ``engine/`` and in the runtime commands of the CLI, at any depth (inside
functions too, which an import-time check cannot see), must name the standard library, the
project itself, a package in ``[project] dependencies``, or an optional extra's package that is
imported lazily (inside a function) behind a clear error. CI also installs the runtime alone in
a fresh clone, imports every runtime module there and runs `make demo` (.ci/run).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
# The CLI modules a runtime-only install runs (`screen`, `demo` with its clip builder, `doctor`
# and their helpers); train/export/bench commands are documented as needing the train extra.
RUNTIME_CLI = ["app.py", "demo_cmd.py", "doctor_cmd.py", "groups.py", "live_outputs.py",
               "screen_cmd.py", "screen_run.py", "options.py", "config_cmd.py",
               "calibrate_cmd.py", "file_outputs.py", "demo/__init__.py", "demo/clip.py",
               "demo/face_swap.py", "demo/run.py"]
# Import names of the runtime dependencies (distribution name -> import name where they differ).
IMPORT_NAMES = {"opencv-python-headless": "cv2", "onnxruntime": "onnxruntime",
                "PyYAML": "yaml"}
# Provided by the runtime dependencies themselves (typer is built on click).
TRANSITIVE = {"click"}
# Optional backends and sinks: allowed only inside functions, so the runtime imports without them.
LAZY_OPTIONAL = {"tensorrt", "pycuda", "tritonclient", "paho", "deepscreen_fft", "cupy"}
PROJECT = {"engine", "deepscreen_cli"}


def _declared() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = set()
    for req in meta["dependencies"]:
        dist = req.split(";")[0].strip()
        for sep in "<>=!~[ ":
            dist = dist.split(sep)[0]
        names.add(IMPORT_NAMES.get(dist, dist.replace("-", "_")).lower())
    return names


def _runtime_files() -> list[Path]:
    files = sorted((ROOT / "engine").rglob("*.py"))
    return files + [ROOT / "deepscreen_cli" / name for name in RUNTIME_CLI]


def _imports(tree: ast.Module):
    """(top-level package, line, at module level?) for every import in the file."""
    top_level = {id(node) for node in tree.body}
    # `if TYPE_CHECKING:` blocks never run.
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            yield name.split(".")[0], node.lineno, id(node) in top_level


def test_runtime_imports_only_declared_packages() -> None:
    allowed = set(sys.stdlib_module_names) | _declared() | TRANSITIVE | PROJECT
    problems = []
    for path in _runtime_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for package, line, module_level in _imports(tree):
            where = f"{path.relative_to(ROOT)}:{line} imports {package}"
            if package in allowed:
                continue
            if package in LAZY_OPTIONAL:
                if module_level:
                    problems.append(where + " at module level (optional: import it lazily)")
                continue
            problems.append(where + " (not a runtime dependency)")
    assert not problems, "\n".join(problems)


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The shape of the bug this guards against: a lazy import of a train-only package."""
    tree = ast.parse("def f():\n    import onnx\n    return onnx\n")
    found = list(_imports(tree))
    assert found == [("onnx", 2, False)]
    assert "onnx" not in set(sys.stdlib_module_names) | _declared()
