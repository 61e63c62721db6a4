"""No test writes into the source tree: a snapshot of the checkout, taken when the test session
starts and compared when it ends (hooks in tests/conftest.py).

Tests write under ``tmp_path``. A file that appears in, or disappears from, the checkout during
a session fails it, and so does a changed model, image, video or other binary artifact (a
command whose default output is ``engine/models/``, say). Text files (sources, docs, configs)
are compared by name only: people edit them while tests run, and a test has no business
rewriting one in place anyway.

What is not the source tree: ``runs/`` (training runs and their caches), the virtual
environments, ``.git`` and tool caches, ``__pycache__``, ``build/`` folders and ``*.egg-info``
(all ignored by git). A file created by another process during the session (an editor, a
second checkout's job) is reported too: the message says so. ``DEEPSCREEN_TREE_CHECK=0`` turns
the check off for a session on a tree that others are editing.
"""

from __future__ import annotations

import os
from pathlib import Path

# Top-level folders that are not the source tree (see the module docstring).
SKIP_TOP = frozenset({".git", ".venv", ".venv-serve", "runs", ".pytest_cache", ".ruff_cache",
                      ".devicepack"})
SKIP_ANYWHERE = frozenset({"__pycache__", "build"})
# Artifacts nobody edits by hand: compared by size and modification time, not only by name.
ARTIFACTS = frozenset({".onnx", ".jpg", ".jpeg", ".png", ".mp4", ".avi", ".npz", ".npy", ".pt",
                       ".pth", ".engine", ".plan", ".tflite", ".h5", ".so", ".bin"})

Snapshot = dict[str, tuple[int, int] | None]


def snapshot(root: Path) -> Snapshot:
    """Every file of the source tree under ``root``: relative path -> (size, mtime_ns) for an
    artifact, None for a text file."""
    files: Snapshot = {}
    for top in root.iterdir():
        if top.name in SKIP_TOP or top.name.endswith(".egg-info"):
            continue
        if not top.is_dir():
            files[top.name] = _stamp(top)
            continue
        for folder, dirs, names in os.walk(top):
            dirs[:] = [d for d in dirs if d not in SKIP_ANYWHERE and not d.endswith(".egg-info")]
            for name in names:
                if name.endswith((".pyc", ".pyo")):
                    continue
                path = Path(folder, name)
                files[path.relative_to(root).as_posix()] = _stamp(path)
    return files


def _stamp(path: Path) -> tuple[int, int] | None:
    if path.suffix.lower() not in ARTIFACTS:
        return None
    try:
        st = path.stat()
    except OSError:  # a dangling link or a file removed while walking
        return None
    return st.st_size, st.st_mtime_ns


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """One line per difference: ``new X``, ``removed X``, ``changed X``; sorted by path."""
    out = [f"new {p}" for p in after.keys() - before.keys()]
    out += [f"removed {p}" for p in before.keys() - after.keys()]
    out += [f"changed {p}" for p in before.keys() & after.keys() if before[p] != after[p]]
    return sorted(out, key=lambda line: line.split(" ", 1)[1])
