"""Fixtures for the engine tests that run the shipped classifier (pipeline, judge): the model
and a loaded stack; skip when the model has not been built yet."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shipped import shipped_model


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
