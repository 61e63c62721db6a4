"""The single-pass twin of the shipped flip graph, and the runtime's mirror pass near the threshold.

On real face crops (a shared FF++ clip): the twin's crop and mirror logits average to exactly the
shipped graph's; the runtime reads ``flip_in_graph = false`` and ``mirror_band``; with band 1
every crop is mirrored and the scores are the shipped model's, with band 0 none is, and in
between exactly the crops near the threshold get the mirror pass.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.micro import collect_crops
from engine.backends import load_backend
from engine.classifier import Classifier
from engine.detect import MTCNNDetector
from engine.errors import ModelError
from engine.features.spectral import SpectralFeature
from tests.shared_data import shared_path
from tests.shipped import shipped_model

pytest.importorskip("onnx")

from export.single_pass import strip_flip  # noqa: E402


@pytest.fixture(scope="module")
def crops():
    clip = shared_path("videos", "ffpp-c23", "fake-deepfakes", "519_515.mp4")
    real = shared_path("videos", "ffpp-c23", "real", "634.mp4")
    detector = MTCNNDetector(min_face=40)
    return collect_crops(clip, detector, 8, 0.25, 10) + collect_crops(real, detector, 8, 0.25, 10)


def _classifier(path) -> Classifier:
    backend = load_backend("ort", path)
    return Classifier(backend, SpectralFeature(backend.contract.spectrum_bins, backend="cpu"))


def test_twin_with_mirror_everywhere_scores_as_the_flip_graph(tmp_path, crops) -> None:
    model = shipped_model()
    shipped = _classifier(model)
    assert shipped.backend.traits.flip_in_graph and shipped.mirror_band == 0.0
    twin = _classifier(strip_flip(model, tmp_path / "single.onnx", 1.0))
    assert not twin.backend.traits.flip_in_graph
    assert twin.mirror_band == 1.0  # read from the metadata the twin carries
    p_shipped = shipped.classify(crops)
    np.testing.assert_allclose(twin.classify(crops), p_shipped, atol=2e-5)
    assert twin.mirrored == len(crops)


def test_band_limits_the_mirror_pass_to_crops_near_the_threshold(tmp_path, crops) -> None:
    model = shipped_model()
    p_shipped = _classifier(model).classify(crops)
    alone = _classifier(strip_flip(model, tmp_path / "none.onnx", 0.0))
    p_alone = alone.classify(crops)
    assert alone.mirrored == 0
    assert np.abs(p_alone - p_shipped).max() > 1e-4  # the mirror pass does change scores
    band = 0.2
    twin = _classifier(strip_flip(model, tmp_path / "band.onnx", band))
    p_band = twin.classify(crops)
    near = np.abs(p_alone - twin.contract.threshold) < band
    assert twin.mirrored == int(near.sum())
    np.testing.assert_allclose(p_band[near], p_shipped[near], atol=2e-5)
    np.testing.assert_array_equal(p_band[~near], p_alone[~near])


def test_a_graph_without_the_flip_is_refused(tmp_path) -> None:
    twin = strip_flip(shipped_model(), tmp_path / "single.onnx", 0.1)
    with pytest.raises(ModelError, match="no in-graph flip"):
        strip_flip(twin, tmp_path / "again.onnx", 0.1)
    with pytest.raises(ModelError, match="mirror band"):
        strip_flip(shipped_model(), tmp_path / "bad.onnx", 1.5)
