"""The source-tree check of every test session (tests/source_tree.py), on a tree of its own."""

from __future__ import annotations

import os
from pathlib import Path

from tests.source_tree import changes, snapshot


def _tree(root: Path) -> None:
    for rel, data in {"engine/judge/vote.py": "x = 1\n", "engine/models/classifier.onnx": "net",
                      "docs/STREAMING.md": "# s\n", "pyproject.toml": "[project]\n",
                      "runs/cache/faces.npz": "npz", ".venv/lib/a.py": ""}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(data)


def test_new_removed_and_rewritten_artifacts_are_reported(tmp_path: Path) -> None:
    _tree(tmp_path)
    before = snapshot(tmp_path)
    assert set(before) == {"engine/judge/vote.py", "engine/models/classifier.onnx",
                           "docs/STREAMING.md", "pyproject.toml"}
    (tmp_path / "engine/judge/_probe.py").write_text("")
    (tmp_path / "docs/STREAMING.md").unlink()
    model = tmp_path / "engine/models/classifier.onnx"
    model.write_text("another net")
    os.utime(model, ns=(1, 1))
    assert changes(before, snapshot(tmp_path)) == [
        "removed docs/STREAMING.md", "new engine/judge/_probe.py",
        "changed engine/models/classifier.onnx"]


def test_edits_caches_and_ignored_folders_are_not(tmp_path: Path) -> None:
    _tree(tmp_path)
    before = snapshot(tmp_path)
    (tmp_path / "engine/judge/vote.py").write_text("x = 2  # someone's edit\n")
    (tmp_path / "engine/judge/__pycache__").mkdir()
    (tmp_path / "engine/judge/__pycache__/vote.cpython-311.pyc").write_text("")
    (tmp_path / "runs/cache/more.npz").write_text("")
    (tmp_path / "cpp_ext/build").mkdir(parents=True)
    (tmp_path / "cpp_ext/build/ext.so").write_text("")
    (tmp_path / "deepscreen.egg-info").mkdir()
    (tmp_path / "deepscreen.egg-info/PKG-INFO").write_text("")
    assert changes(before, snapshot(tmp_path)) == []
