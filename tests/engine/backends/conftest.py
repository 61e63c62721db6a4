"""Fixtures for backend tests: a tiny real classifier ONNX and real face crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.engine.backends.tiny_classifier import TINY_CONTRACT, write_tiny_classifier


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_classifier(tmp_path_factory.mktemp("tiny") / "classifier.onnx")


@pytest.fixture(scope="session")
def hopper_batch() -> tuple[np.ndarray, np.ndarray]:
    """Real face crops (shifted crops of skimage's astronaut portrait), prepared."""
    import cv2
    from skimage import data

    from engine.preprocess import prepare_crops

    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    crops = [image[y : y + 200, x : x + 200] for y in (0, 30, 60) for x in (100, 140, 180)]
    batch = prepare_crops(crops, TINY_CONTRACT)
    rng = np.random.default_rng(3)
    spectrum = rng.normal(size=(len(crops), TINY_CONTRACT.spectrum_bins)).astype(np.float32)
    return batch, spectrum
