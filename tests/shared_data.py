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
