"""Shared fixtures: paths to the optional shared data set, skipping cleanly when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared_data import REPO, SHARED_DATA, mini_registry, shared_path

__all__ = ["REPO", "SHARED_DATA", "mini_registry", "shared_path"]


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder, or skip."""
    return shared_path()
