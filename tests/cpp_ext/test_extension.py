"""The CUDA extension deepscreen_fft: importable, its API, clear errors without a GPU, and its
host-side tables (the part that runs without a GPU) against the engine's definition."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata

from engine.features import SpectralFeature, describe_backend, radial_spectrum_reference
from engine.features.radial_plan import radial_plan

dsfft = pytest.importorskip("deepscreen_fft", reason="CUDA extension not built (needs nvcc)")

GPU_OK, GPU_REASON = dsfft.cuda_status()
needs_no_gpu = pytest.mark.skipif(GPU_OK, reason="a GPU is present")


@pytest.fixture(scope="module")
def astronaut_bgr() -> np.ndarray:
    return np.ascontiguousarray(skdata.astronaut()[..., ::-1])


def test_public_api():
    for name in ("radial_spectrum", "radial_spectrum_ptr", "cuda_status", "cached_plans",
                 "CudaUnavailableError", "CudaError", "cufft_candidates", "__version__"):
        assert hasattr(dsfft, name), name
    assert issubclass(dsfft.CudaUnavailableError, RuntimeError)
    ok, reason = dsfft.cuda_status()
    assert isinstance(ok, bool) and reason


@needs_no_gpu
def test_every_call_raises_the_clear_error_without_gpu(astronaut_bgr):
    crops = astronaut_bgr[None, :64, :64]
    with pytest.raises(dsfft.CudaUnavailableError) as info:
        dsfft.radial_spectrum(crops)
    message = str(info.value)
    assert message == GPU_REASON
    assert any(k in message for k in ("no CUDA driver", "no CUDA device", "cuFFT not found"))
    # Availability is checked before any pointer is touched: a bogus address cannot crash.
    with pytest.raises(dsfft.CudaUnavailableError):
        dsfft.radial_spectrum_ptr(0xDEAD0000, (2, 64, 64, 3), "uint8", 80, out_ptr=0xBEEF0000)
    assert dsfft.cached_plans() == []


def test_bad_arguments_raise_value_error(astronaut_bgr):
    with pytest.raises(ValueError, match="below 8"):
        dsfft.radial_spectrum(np.zeros((1, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        dsfft.radial_spectrum(np.zeros((1, 32, 32, 4), np.uint8))
    with pytest.raises(ValueError, match="bins"):
        dsfft.radial_spectrum(astronaut_bgr[None, :32, :32], bins=1)


@pytest.mark.parametrize("side", [8, 63, 64, 200, 257])
def test_extension_tables_match_engine_plan(side):
    plan = radial_plan(side, 80)
    tables = dsfft._core.radial_tables(side)
    assert tables["n_radii"] == plan.n_radii
    np.testing.assert_array_equal(tables["count"], plan.count)
    # perm lists every half-plane element once, grouped by the engine's bin.
    perm, offsets = tables["perm"], tables["offsets"]
    assert np.array_equal(np.sort(perm), np.arange(plan.bin_of.size))
    bin_of_perm = np.repeat(np.arange(plan.n_radii), np.diff(offsets))
    np.testing.assert_array_equal(plan.bin_of[perm], bin_of_perm)
    for bins in (80, 300):
        left, right, frac = dsfft._core.resample_taps(side, bins)
        p = radial_plan(side, bins)
        np.testing.assert_array_equal(left, p.nonempty[p.left])
        np.testing.assert_array_equal(right, p.nonempty[p.right])
        np.testing.assert_allclose(frac, p.frac, rtol=0, atol=1e-12)


def _emulate_gpu(crop: np.ndarray, bins: int) -> np.ndarray:
    """The kernels' algorithm in NumPy float32: zero-mean gray, R2C, CSR bins, taps."""
    side = min(crop.shape[:2])
    top, left = (crop.shape[0] - side) // 2, (crop.shape[1] - side) // 2
    c = crop[top : top + side, left : left + side].astype(np.float32)
    wb, wg, wr = (np.float32(v) for v in (0.114, 0.587, 0.299))
    gray = wb * c[..., 0] + wg * c[..., 1] + wr * c[..., 2]
    total = gray.sum(dtype=np.float64)
    spec = np.fft.rfft2(gray - np.float32(total / side**2))  # complex64 with numpy >= 2
    mag = np.abs(spec).ravel()
    mag[0] = abs(total)
    half_w = side // 2 + 1
    t = dsfft._core.radial_tables(side)
    perm, offsets = t["perm"], t["offsets"]
    col = perm % half_w
    weight = np.where((col == 0) | ((side % 2 == 0) & (col == half_w - 1)), 1.0, 2.0)
    vals = (weight * np.log1p(mag[perm])).astype(np.float32)
    profile = np.add.reduceat(vals, offsets[:-1]) * np.float32(20) / t["count"].astype(np.float32)
    lb, rb, frac = dsfft._core.resample_taps(side, bins)
    out = profile[lb] + frac.astype(np.float32) * (profile[rb] - profile[lb])
    return out / out.mean()


@pytest.mark.parametrize("side,bins", [(64, 80), (129, 80), (256, 300), (511, 80)])
def test_float32_algorithm_meets_the_gpu_tolerance(astronaut_bgr, side, bins):
    crop = astronaut_bgr[:side, 512 - side :]
    ref = radial_spectrum_reference(crop, bins)
    got = _emulate_gpu(crop, bins)
    assert np.max(np.abs(got - ref) / np.abs(ref)) < 1e-4


def test_engine_picks_cpu_and_says_why():
    name, reason = describe_backend()
    feature = SpectralFeature()
    if GPU_OK:
        assert name == "cuda" and feature.backend_name == "cuda"
    else:
        assert name == "cpu" and feature.backend_name == "cpu"
        assert "deepscreen_fft" in reason and GPU_REASON in reason


@pytest.mark.gpu
@pytest.mark.skipif(not GPU_OK, reason=f"no GPU: {GPU_REASON}")
def test_gpu_matches_reference(astronaut_bgr):
    crops = np.stack([astronaut_bgr[i : i + 200, i : i + 256] for i in range(0, 40, 10)])
    got = dsfft.radial_spectrum(crops, bins=80)
    for crop, row in zip(crops, got, strict=True):
        ref = radial_spectrum_reference(crop, 80)
        assert np.max(np.abs(row - ref) / np.abs(ref)) < 1e-4
