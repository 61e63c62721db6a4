"""The shipped classifier for the tests that run it (skip when it has not been built yet)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.backends.factory import DEFAULT_MODEL


def shipped_model() -> Path:
    """The shipped classifier ONNX; the calling test is skipped when it is absent.

    ``DEEPSCREEN_TEST_MODEL`` points at another deepscreen classifier ONNX (same inputs and
    metadata) for development before the shipped one exists; CI uses the shipped file.
    """
    override = os.environ.get("DEEPSCREEN_TEST_MODEL")
    path = Path(override) if override else DEFAULT_MODEL
    if not path.is_file():
        pytest.skip(f"classifier model not present: {path} (trained and exported by `deepscreen "
                    "train` / `deepscreen export onnx`)")
    return path
