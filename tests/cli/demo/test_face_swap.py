"""The demo's face swap: exact alignment maths, and a swap that really moves a face."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deepscreen_cli.demo.clip import load_portrait
from deepscreen_cli.demo.face_swap import apply_transform, similarity_transform, swap_face
from engine.errors import InputError


def _rot(deg: float) -> np.ndarray:
    r = np.radians(deg)
    return np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])


def test_similarity_transform_recovers_a_known_transform() -> None:
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 200, size=(5, 2))
    scale, rot, shift = 1.7, _rot(23.0), np.array([31.0, -12.5])
    dst = src @ (scale * rot).T + shift
    m = similarity_transform(src, dst)
    np.testing.assert_allclose(m[:, :2], scale * rot, atol=1e-9)
    np.testing.assert_allclose(m[:, 2], shift, atol=1e-9)
    np.testing.assert_allclose(apply_transform(m, src), dst, atol=1e-9)


def test_similarity_transform_never_mirrors() -> None:
    src = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 8.0], [2.0, 12.0], [8.0, 12.0]])
    mirrored = src * np.array([-1.0, 1.0])
    m = similarity_transform(src, mirrored)
    # A proper rotation times a positive scale: positive determinant.
    assert np.linalg.det(m[:, :2]) > 0


def test_similarity_transform_rejects_degenerate_points() -> None:
    with pytest.raises(ValueError):
        similarity_transform(np.zeros((5, 2)), np.ones((5, 2)))


@pytest.fixture(scope="module")
def faces():
    detect = pytest.importorskip("engine.detect", reason="engine.detect (MTCNN) not present")
    detector = detect.MTCNNDetector(min_face=20)
    hopper, astronaut = load_portrait("hopper"), load_portrait("astronaut")
    f_h, f_a = detector.detect(hopper), detector.detect(astronaut)
    assert f_h and f_a, "MTCNN must find the face in both shipped portraits"
    return detector, (hopper, f_h[0]), (astronaut, f_a[0])


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64) - a.mean()
    b = b.astype(np.float64) - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


@pytest.mark.parametrize("direction", ["astronaut->hopper", "hopper->astronaut"])
def test_swap_puts_the_other_face_where_the_target_face_was(faces, direction) -> None:
    detector, hop, ast = faces
    (src, f_src), (dst, f_dst) = (ast, hop) if direction == "astronaut->hopper" else (hop, ast)
    res = swap_face(src, f_src, dst, f_dst)

    assert res.image.shape == dst.shape and res.image.dtype == np.uint8
    eye_d = float(np.linalg.norm(f_dst.landmarks[1] - f_dst.landmarks[0]))
    assert res.alignment_error < 0.25 * eye_d

    # Outside the mask the target is untouched; inside, it changed a lot.
    outside = res.mask == 0
    assert np.array_equal(res.image[outside], dst[outside])
    core = res.mask > 0.95
    assert core.sum() > 0.5 * eye_d**2
    diff = np.abs(res.image.astype(np.int16) - dst.astype(np.int16)).mean(axis=2)
    assert diff[core].mean() > 10.0

    # The core now carries the source's face structure, not the target's: compare grey-level
    # patterns with the aligned source and with the original target.
    h, w = dst.shape[:2]
    aligned_src = cv2.warpAffine(src, res.transform, (w, h))
    grey = [cv2.cvtColor(x, cv2.COLOR_BGR2GRAY)[core] for x in (res.image, aligned_src, dst)]
    ncc_src, ncc_dst = _ncc(grey[0], grey[1]), _ncc(grey[0], grey[2])
    assert ncc_src > 0.9
    assert ncc_src > ncc_dst + 0.2

    # The detector still sees one face there, with landmarks near the target's.
    found = detector.detect(res.image)
    assert found, "no face found in the swapped image"
    best = min(found, key=lambda d: np.linalg.norm(d.landmarks - f_dst.landmarks, axis=1).mean())
    err = np.linalg.norm(best.landmarks - f_dst.landmarks, axis=1).mean()
    assert err < 0.2 * eye_d


def test_swap_rejects_non_bgr_input(faces) -> None:
    _, (hopper, f_h), (astronaut, f_a) = faces
    with pytest.raises(InputError):
        swap_face(cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY), f_a, hopper, f_h)
