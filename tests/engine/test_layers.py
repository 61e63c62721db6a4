"""The layers point one way, read from the source text (nothing is imported here).

``engine/`` is the runtime an edge box installs: numpy, OpenCV, ONNX Runtime or TensorRT. It
must not name the training side (``train``, ``calibration``, ``export``), the layers above it
(the command line, the benchmark) or torch, not even inside a function: a lazy import is still
a dependency. Upper layers plug in through entry points (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.import_graph import REPO, cycles, imported_names, module_graph, package_files

FORBIDDEN_IN_ENGINE = (
    "train", "calibration", "export", "deepscreen_cli", "bench",
    "torch", "torchvision", "facenet_pytorch", "sklearn",
)
MAX_LINES = 450


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def forbidden_imports(path: Path, root: Path = REPO) -> list[str]:
    return [
        f"{path.relative_to(root)}:{line}: {name}"
        for line, name in imported_names(path, root)
        if _top(name) in FORBIDDEN_IN_ENGINE
    ]


def test_engine_names_no_upper_layer_and_no_torch() -> None:
    bad = [hit for path in package_files("engine") for hit in forbidden_imports(path)]
    assert not bad, "engine/ imports what it must not:\n" + "\n".join(bad)


def test_the_check_sees_lazy_and_dynamic_imports(tmp_path: Path) -> None:
    # The check itself must catch the hidden forms, or the test above proves nothing. The probe
    # is an engine module in a copy of the layout under tmp_path, never in the checkout.
    probe = tmp_path / "engine" / "_layer_probe_test_only.py"
    probe.parent.mkdir()
    probe.write_text(
        "def f():\n"
        "    import torch\n"
        "    from train.models import create_model\n"
        "    import importlib\n"
        "    importlib.import_module('export.fp16')\n"
    )
    hits = forbidden_imports(probe, root=tmp_path)
    assert [h.rsplit(": ", 1)[1] for h in hits] == [
        "torch", "train.models", "train.models.create_model", "export.fp16"
    ]


def test_no_import_cycles() -> None:
    found = cycles(module_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("package", ["engine", "bench", "deepscreen_cli"])
def test_no_module_over_the_line_limit(package: str) -> None:
    long = [
        f"{p.relative_to(REPO)}: {n} lines"
        for p in package_files(package)
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    ]
    assert not long, "\n".join(long)
