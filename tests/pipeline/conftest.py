"""Fixtures for pipeline tests: the shipped classifier (skip when it has not been built yet)."""

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


@pytest.fixture(scope="module")
def model_path() -> Path:
    return shipped_model()


@pytest.fixture(scope="module")
def stack(model_path):
    """(backend, feature, detector) shared by a module's tests: loading them takes a second."""
    from engine.backends import load_backend
    from engine.detect import MTCNNDetector
    from engine.features.spectral import SpectralFeature

    backend = load_backend("ort", model_path)
    feature = SpectralFeature(backend.contract.spectrum_bins, backend="cpu")
    return backend, feature, MTCNNDetector(min_face=40)
