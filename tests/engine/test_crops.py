"""square_crop: centred square, margin, native resolution by default, replicated borders."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from engine.crops import square_crop, square_region
from engine.detect import MTCNNDetector
from engine.errors import UsageError


@pytest.fixture(scope="module")
def ramp() -> np.ndarray:
    """100x200x3 image whose pixel values encode their own coordinates."""
    y, x = np.mgrid[0:100, 0:200]
    return np.stack([x % 256, y, (x + y) % 256], axis=2).astype(np.uint8)


def test_native_resolution_and_centre(ramp) -> None:
    crop = square_crop(ramp, (50, 20, 90, 60), margin=0.5)
    assert crop.shape == (60, 60, 3)
    # Side 40 * 1.5 = 60, centred on (70, 40): x 40..99, y 10..69, pixels copied unchanged.
    np.testing.assert_array_equal(crop, ramp[10:70, 40:100])


def test_side_follows_longer_box_side(ramp) -> None:
    assert square_crop(ramp, (10, 10, 30, 70), margin=0.0).shape[:2] == (60, 60)
    assert square_region((10, 10, 30, 70), 0.25) == (-17, 3, 75)  # centre (20, 40), halves round up


def test_outside_pixels_replicate_border(ramp) -> None:
    crop = square_crop(ramp, (-10, -10, 20, 20), margin=0.0)
    assert crop.shape == (30, 30, 3)
    np.testing.assert_array_equal(crop[10:, 10:], ramp[0:20, 0:20])
    np.testing.assert_array_equal(crop[0, 0], ramp[0, 0])
    np.testing.assert_array_equal(crop[:10, 15], np.repeat(ramp[0:1, 5], 10, axis=0))


def test_size_resizes(ramp) -> None:
    assert square_crop(ramp, (50, 20, 90, 60), size=32).shape == (32, 32, 3)
    assert square_crop(ramp, (50, 20, 60, 30), size=64).shape == (64, 64, 3)


def test_grayscale(ramp) -> None:
    gray = ramp[:, :, 0]
    assert square_crop(gray, (0, 0, 50, 50), margin=0.1).shape == (55, 55)


def test_face_crop_from_detection() -> None:
    image = np.ascontiguousarray(skimage.data.astronaut()[:, :, ::-1])
    (face,) = MTCNNDetector(min_face=40).detect(image)
    crop = square_crop(image, face.box, margin=0.25)
    expected = round(max(face.width, face.height) * 1.25)
    assert crop.shape == (expected, expected, 3)
    assert crop.dtype == np.uint8


@pytest.mark.parametrize(
    "box, kwargs",
    [
        ((10, 10, 10, 20), {}),
        ((0, 0, 5, 5), {"margin": -0.1}),
        ((0, 0, 5, 5), {"size": 0}),
        ((500, 500, 600, 600), {}),
    ],
)
def test_bad_requests(ramp, box, kwargs) -> None:
    with pytest.raises(UsageError):
        square_crop(ramp, box, **kwargs)
