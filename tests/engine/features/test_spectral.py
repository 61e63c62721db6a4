"""The spectral feature: fast CPU path against the float64 reference, on real images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from engine.errors import BackendUnavailable, InputError, UsageError
from engine.features import (
    SpectralFeature,
    describe_backend,
    radial_spectrum,
    radial_spectrum_reference,
)
from engine.features.radial_plan import max_radius, radial_plan
from engine.features.spectral import centre_square

REPO = Path(__file__).resolve().parents[3]
HOPPER = REPO.parent / "shared" / "data" / "images" / "grace_hopper_512x512.jpg"


def _rel_err(fast: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(fast - ref) / np.maximum(np.abs(ref), 1e-12)))


@pytest.fixture(scope="module")
def astronaut_bgr() -> np.ndarray:
    return np.ascontiguousarray(skdata.astronaut()[..., ::-1])  # RGB -> BGR


@pytest.mark.parametrize("side", [8, 63, 64, 129, 256])
@pytest.mark.parametrize("bins", [80, 300])
def test_fast_matches_reference_on_real_crops(astronaut_bgr, side, bins):
    crops = np.stack([astronaut_bgr[y : y + side, x : x + side] for y, x in [(0, 0), (100, 150)]])
    fast = radial_spectrum(crops, bins)
    assert fast.shape == (2, bins) and fast.dtype == np.float32
    for crop, row in zip(crops, fast, strict=True):
        assert _rel_err(row, radial_spectrum_reference(crop, bins)) < 1e-6


def test_fast_matches_reference_on_shared_faces():
    from tests.conftest import shared_path

    folder = shared_path("faces")
    files = sorted(folder.glob("*/*/*.jpg"))[::150]
    crops = [cv2.imread(str(f)) for f in files]
    fast = radial_spectrum(crops)  # 256, 1024 and 200 px faces: several size groups
    for crop, row in zip(crops, fast, strict=True):
        assert _rel_err(row, radial_spectrum_reference(crop)) < 1e-6


def test_grace_hopper_grayscale_and_float_input():
    if not HOPPER.exists():
        pytest.skip("Grace Hopper portrait not present")
    bgr = cv2.imread(str(HOPPER))
    gray64 = 0.114 * bgr[..., 0] + 0.587 * bgr[..., 1] + 0.299 * bgr[..., 2]
    from_bgr = radial_spectrum(bgr[None])
    from_gray = radial_spectrum(gray64[None])
    assert _rel_err(from_bgr, from_gray) < 1e-6
    # Channel order matters (BGR, OpenCV's): swapping B and R changes the gray image.
    swapped = radial_spectrum(np.ascontiguousarray(bgr[..., ::-1])[None])
    assert np.max(np.abs(swapped - from_bgr)) > 1e-5
    assert _rel_err(from_bgr[0], radial_spectrum_reference(bgr)) < 1e-6


def test_non_square_is_centre_cropped_not_resized(astronaut_bgr):
    wide = astronaut_bgr[100:228, 50:350]  # 128 x 300
    square = wide[:, 86:214]
    assert np.array_equal(centre_square(wide), square)
    got = radial_spectrum([wide])[0]
    np.testing.assert_allclose(got, radial_spectrum(square[None])[0], rtol=1e-7)
    resized = cv2.resize(wide, (128, 128), interpolation=cv2.INTER_AREA)
    assert np.max(np.abs(radial_spectrum(resized[None])[0] - got)) > 1e-3
    tall_batch = np.stack([astronaut_bgr[0:300, 0:128], astronaut_bgr[10:310, 5:133]])
    np.testing.assert_allclose(
        radial_spectrum(tall_batch), radial_spectrum([c for c in tall_batch]), rtol=1e-7
    )


def test_mixed_sizes_keep_order(astronaut_bgr):
    crops = [astronaut_bgr[:64, :64], astronaut_bgr[:200, :200], astronaut_bgr[50:114, 50:114]]
    got = radial_spectrum(crops)
    for crop, row in zip(crops, got, strict=True):
        assert _rel_err(row, radial_spectrum_reference(crop)) < 1e-6


def test_normalisation_and_degenerate_crops(astronaut_bgr):
    got = radial_spectrum(astronaut_bgr[None, :256, :256])[0]
    assert abs(got.mean() - 1.0) < 1e-6
    assert np.all(got >= 0) and np.all(got <= len(got))
    zeros = radial_spectrum(np.zeros((1, 32, 32), np.uint8))[0]
    assert np.array_equal(zeros, np.zeros(80, np.float32))
    assert np.array_equal(radial_spectrum_reference(np.zeros((32, 32))), np.zeros(80))
    # A constant crop: only DC is non-zero; fast and reference agree despite FFT round-off.
    flat = np.full((1, 64, 64), 200, np.uint8)
    assert _rel_err(radial_spectrum(flat)[0], radial_spectrum_reference(flat[0])) < 1e-6


def test_blur_lowers_the_high_frequency_tail(astronaut_bgr):
    crop = astronaut_bgr[:256, 100:356]
    blurred = cv2.GaussianBlur(crop, (0, 0), 2.0)
    sharp, soft = radial_spectrum(np.stack([crop, blurred]))
    assert soft[-20:].mean() < sharp[-20:].mean()


def test_plan_weights_cover_the_full_plane():
    for side in (8, 9, 64, 65, 256):
        plan = radial_plan(side, 80)
        assert plan.weight.sum() == side * side
        k = np.arange(side) - side // 2
        r = np.floor(np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)).astype(int)
        np.testing.assert_array_equal(plan.count, np.bincount(r.ravel()))
        assert plan.n_radii == max_radius(side) + 1


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(InputError):
        radial_spectrum(np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(InputError):
        radial_spectrum(np.zeros((2, 32, 32, 4), np.uint8))
    with pytest.raises(InputError):
        radial_spectrum([np.zeros((32, 32, 2), np.uint8)])
    with pytest.raises(UsageError):
        radial_spectrum(np.zeros((1, 32, 32), np.uint8), bins=1)
    assert radial_spectrum(np.zeros((0, 32, 32), np.uint8)).shape == (0, 80)


def test_backend_selection_without_gpu(astronaut_bgr):
    name, reason = describe_backend()
    feature = SpectralFeature(bins=80)
    assert feature.backend_name == name
    if name == "cpu":
        assert "CUDA extension not used" in reason
        with pytest.raises(BackendUnavailable, match="unavailable"):
            SpectralFeature(backend="cuda")
    crops = astronaut_bgr[None, :128, :128]
    np.testing.assert_allclose(
        SpectralFeature(backend="cpu")(crops), radial_spectrum(crops), rtol=1e-7
    )
    with pytest.raises(UsageError):
        SpectralFeature(backend="tpu")
