"""Paths into the optional ../shared/data set; tests that need it skip cleanly without it.

A module with its own name (not ``conftest``): several test folders have a conftest.py, so
``from conftest import ...`` would pick whichever was imported first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_path(*parts: str) -> Path:
    """Path inside ../shared/data; the calling test is skipped when it does not exist."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    return path


def mini_registry(folder: Path, per_class: int = 60) -> Path:
    """A faces root with one unregistered source (``mini``) of ``per_class`` real and fake
    ffhq-vs-stylegan1 images, symlinked: a registry small enough to score in seconds, whose
    default split has both classes in validation. Skips without the shared data."""
    import os

    shared = shared_path("faces", "ffhq-vs-stylegan1")
    faces = folder / "faces"
    for label in ("real", "fake"):
        (faces / "mini" / label).mkdir(parents=True)
        for f in sorted((shared / label).glob("*.*"))[:per_class]:
            os.symlink(f, faces / "mini" / label / f.name)
    return faces
