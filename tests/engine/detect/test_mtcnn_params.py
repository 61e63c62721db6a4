"""Detector parameters and failure modes: min face, thresholds, scale factor, bad models."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from engine.detect import MTCNNDetector
from engine.detect.mtcnn import ONET_BATCH, RNET_BATCH, _batched
from engine.errors import InputError, ModelError, UsageError
from engine.memory import heap_stats, heap_supported
from engine.types import Detection
from tests.conftest import shared_path
from tests.engine.detect.mtcnn_reference import assert_same_faces, reference_detect


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return np.ascontiguousarray(skimage.data.astronaut()[:, :, ::-1])


@pytest.fixture(scope="module")
def detector() -> MTCNNDetector:
    return MTCNNDetector(min_face=40)


def test_detection_record(detector, astronaut) -> None:
    (face,) = detector.detect(astronaut)
    assert isinstance(face, Detection)
    x1, y1, x2, y2 = face.box
    assert 0 <= x1 < x2 <= astronaut.shape[1] and 0 <= y1 < y2 <= astronaut.shape[0]
    assert 0.9 < face.score <= 1.0
    assert face.landmarks.shape == (5, 2)
    # Eyes above the nose, nose above the mouth, left eye left of the right eye, all in the box.
    (lx, ly), (rx, ry), (nx, ny), (mlx, mly), (mrx, mry) = face.landmarks
    assert lx < rx and max(ly, ry) < ny < min(mly, mry)
    assert np.all((face.landmarks[:, 0] > x1) & (face.landmarks[:, 0] < x2))


@pytest.mark.parametrize("make", [skimage.data.coffee, skimage.data.brick, skimage.data.rocket])
def test_no_faces_in_face_free_images(detector, make) -> None:
    image = make()
    bgr = image if image.ndim == 2 else np.ascontiguousarray(image[:, :, ::-1])
    assert detector.detect(bgr) == []


def test_no_faces_in_flat_image(detector) -> None:
    assert detector.detect(np.full((240, 320, 3), 128, np.uint8)) == []


def test_min_face_hides_small_faces() -> None:
    group = cv2.imread(str(shared_path("images", "multiface.jpg")))
    small = MTCNNDetector(min_face=20).detect(group)
    widest = max(d.width for d in small)
    big_only = MTCNNDetector(min_face=int(widest * 1.6)).detect(group)
    assert len(small) >= 3
    assert len(big_only) < len(small)
    assert MTCNNDetector(min_face=20).pyramid_scales(480, 640)[0] == pytest.approx(12 / 20)
    assert len(MTCNNDetector(min_face=80).pyramid_scales(480, 640)) < len(
        MTCNNDetector(min_face=20).pyramid_scales(480, 640)
    )


def test_thresholds_filter_scores(astronaut) -> None:
    loose = MTCNNDetector(min_face=40, thresholds=(0.6, 0.7, 0.7)).detect(astronaut)
    score = loose[0].score
    assert (
        MTCNNDetector(min_face=40, thresholds=(0.6, 0.7, min(score + 1e-7, 1.0))).detect(astronaut)
        == []
    )
    # A strict P-Net threshold starves the cascade of proposals.
    assert MTCNNDetector(min_face=40, thresholds=(1.0, 0.7, 0.7)).detect(astronaut) == []


def test_scale_factor_changes_pyramid_and_matches_reference(astronaut, facenet_mtcnn) -> None:
    coarse = MTCNNDetector(min_face=40, scale_factor=0.5)
    fine = MTCNNDetector(min_face=40, scale_factor=0.85)
    assert len(coarse.pyramid_scales(512, 512)) < len(fine.pyramid_scales(512, 512))
    for det, factor in ((coarse, 0.5), (fine, 0.85)):
        ref = reference_detect(facenet_mtcnn(min_face_size=40, factor=factor), astronaut)
        assert_same_faces(det.detect(astronaut), ref)
    assert coarse.detect(astronaut)[0].box != fine.detect(astronaut)[0].box


def test_sorted_by_score() -> None:
    group = cv2.imread(str(shared_path("images", "multiface.jpg")))
    scores = [d.score for d in MTCNNDetector().detect(group)]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    "kwargs", [{"min_face": 0}, {"scale_factor": 1.0}, {"thresholds": (0.6, 0.7)}]
)
def test_bad_parameters(kwargs) -> None:
    with pytest.raises(UsageError):
        MTCNNDetector(**kwargs)


def test_bad_images(detector) -> None:
    with pytest.raises(InputError):
        detector.detect(np.zeros((10, 10, 4), np.uint8))
    with pytest.raises(InputError):
        detector.detect(np.zeros((10, 10, 3), np.float32))


def test_missing_model_dir(tmp_path) -> None:
    with pytest.raises(ModelError, match="missing"):
        MTCNNDetector(model_dir=tmp_path)


def test_corrupt_model(tmp_path) -> None:
    from engine.detect.nets import DEFAULT_MODEL_DIR

    for name in ("pnet", "rnet", "onet"):
        (tmp_path / f"{name}.onnx").write_bytes((DEFAULT_MODEL_DIR / f"{name}.onnx").read_bytes())
    (tmp_path / "rnet.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(ModelError, match="rnet.onnx"):
        MTCNNDetector(model_dir=tmp_path)


def test_tiny_image_has_no_pyramid(detector) -> None:
    assert detector.detect(np.zeros((30, 30, 3), np.uint8)) == []


@pytest.mark.skipif(not heap_supported(), reason="needs glibc >= 2.33 for heap statistics")
def test_crowded_batches_do_not_grow_memory() -> None:
    """Hundreds of R-Net/O-Net candidates run in chunks the warm-up already sized the arena for.

    Before chunking at RNET_BATCH/ONET_BATCH, one crowded frame with 300 O-Net candidates grew
    ONNX Runtime's arena by hundreds of MiB, for the rest of the process's life.
    """
    det = MTCNNDetector(min_face=40, threads=1)
    rng = np.random.default_rng(0)
    before = heap_stats().in_use_mb
    for n in (300, 7, 129, 64, 1):
        _batched(det.nets.run_rnet, rng.normal(size=(n, 3, 24, 24)).astype(np.float32),
                 RNET_BATCH)
        _batched(det.nets.run_onet, rng.normal(size=(n, 3, 48, 48)).astype(np.float32),
                 ONET_BATCH)
    assert heap_stats().in_use_mb - before < 4.0
