"""A model whose output does not depend on ``spectrum`` gets zeros instead of an FFT per face."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.backends.ort import OrtBackend
from engine.classifier import Classifier
from engine.errors import ModelError
from engine.features.spectral import SpectralFeature
from engine.paths import DEFAULT_CLASSIFIER
from export.graph_inputs import inputs_reaching
from tests.engine.backends.tiny_classifier import write_tiny_classifier


class CountingFeature:
    """The real CPU spectral feature, counting how many crops it was asked for."""

    def __init__(self, bins: int) -> None:
        self.inner = SpectralFeature(bins, backend="cpu")
        self.bins = bins
        self.backend_name = self.inner.backend_name
        self.crops = 0

    def __call__(self, crops):
        self.crops += len(crops)
        return self.inner(crops)


@pytest.fixture(scope="module")
def face_crops() -> list[np.ndarray]:
    from skimage import data

    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    return [image[y : y + 220, x : x + 220] for y in (0, 40) for x in (110, 170)]


def test_reachability_follows_paths_not_names(tmp_path: Path) -> None:
    with_branch = write_tiny_classifier(tmp_path / "spectral.onnx")
    without = write_tiny_classifier(tmp_path / "plain.onnx", spectral=False)
    assert inputs_reaching(with_branch, "logit") == {"crops", "spectrum"}
    # `spectrum` feeds a Cast whose result nothing reads: a dead branch does not count.
    assert inputs_reaching(without, "logit") == {"crops"}
    with pytest.raises(ModelError, match="no output"):
        inputs_reaching(without, "p_fake")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot read ONNX"):
        inputs_reaching(tmp_path / "junk.onnx", "logit")


def test_shipped_model_skips_the_spectrum_with_identical_scores(face_crops) -> None:
    backend = OrtBackend(DEFAULT_CLASSIFIER)
    assert backend.uses_spectrum is False  # trained without the spectral branch
    feature = CountingFeature(backend.contract.spectrum_bins)
    clf = Classifier(backend, feature)
    skipped = clf.classify(face_crops)
    assert feature.crops == 0 and clf.spectral_name == "none"
    # Forcing the computation changes nothing: the graph never reads the spectrum.
    backend.uses_spectrum = True
    computed = clf.classify(face_crops)
    assert feature.crops == len(face_crops) and clf.spectral_name == "cpu"
    np.testing.assert_array_equal(skipped, computed)


def test_spectral_model_still_gets_its_spectrum(tmp_path: Path, face_crops) -> None:
    backend = OrtBackend(write_tiny_classifier(tmp_path / "spectral.onnx"))
    assert backend.uses_spectrum is True
    feature = CountingFeature(backend.contract.spectrum_bins)
    Classifier(backend, feature).classify(face_crops)
    assert feature.crops == len(face_crops)


def test_a_model_that_ignores_the_spectrum_needs_no_cuda_fft(tmp_path: Path, face_crops) -> None:
    """`--spectral cuda` with the shipped model: nothing to compute, so nothing to refuse."""
    from engine.errors import BackendUnavailable, UsageError
    from engine.features.cuda_backend import cuda_backend_status
    from engine.features.spectral import feature_for
    from engine.pipeline.assemble import ClassifierSpec, build_classifier

    if cuda_backend_status()[0]:
        pytest.skip("the CUDA spectral backend works here: nothing would be refused")
    plain = build_classifier(ClassifierSpec(backend="ort", model=DEFAULT_CLASSIFIER,
                                            spectral="cuda"))
    auto = build_classifier(ClassifierSpec(backend="ort", model=DEFAULT_CLASSIFIER))
    try:
        assert plain.spectral_name == "none" and "ignores" in plain.feature.reason
        np.testing.assert_array_equal(plain.classify(face_crops), auto.classify(face_crops))
    finally:
        plain.close()
        auto.close()
    # A model that reads its spectrum still gets exactly the backend asked for.
    spectral = tmp_path / "spectral.onnx"
    write_tiny_classifier(spectral)
    with pytest.raises(BackendUnavailable, match="cuda"):
        build_classifier(ClassifierSpec(backend="ort", model=spectral, spectral="cuda"))
    reads = build_classifier(ClassifierSpec(backend="ort", model=spectral))
    assert reads.spectral_name == "cpu"
    reads.close()
    with pytest.raises(UsageError, match="unknown spectral backend"):
        feature_for(80, False, "gpu")
