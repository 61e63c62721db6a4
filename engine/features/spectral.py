"""The spectral fingerprint of Durall et al. ("Unmasking DeepFakes with simple features").

Definition (one square crop of side S, output length N; every backend computes exactly this):

1. **Square.** A non-square crop is centre-cropped to ``S = min(H, W)`` (rows from
   ``(H - S) // 2``, columns from ``(W - S) // 2``). Never resized: resizing destroys the cue.
2. **Grayscale.** A 3-channel crop is BGR (OpenCV order) and becomes
   ``g = 0.114 B + 0.587 G + 0.299 R`` (ITU-R BT.601, OpenCV's weights) in floating point,
   without rounding. Pixel values are used as given: uint8 crops are on the 0..255 scale and
   float crops are expected on the same scale.
3. **Spectrum.** ``F = fft2(g)``, with the zero frequency centred (``fftshift``): the element at
   signed frequency ``(ky, kx)``, each in ``-(S // 2) .. S - 1 - S // 2``.
4. **Log magnitude.** ``L = 20 * ln(|F| + eps)`` with ``eps = 1``. The paper uses a tiny eps;
   1 is below the quantisation noise floor of an 8-bit image (about ``S / sqrt(12)``), keeps
   ``L >= 0``, and makes float32 GPU results agree with the float64 reference where ``|F|`` is
   pure round-off (a constant crop).
5. **Azimuthal mean.** Radius bin ``r = floor(sqrt(ky**2 + kx**2))``, computed exactly on
   integers, for ``r = 0 .. R - 1`` with ``R - 1 = isqrt(2 * (S // 2)**2)`` (the corners are
   included, as in the paper). ``P[r]`` = mean of ``L`` over the elements of bin r. Every bin is
   non-empty for the sizes we use; an empty bin would be skipped (no node) in step 6.
6. **Resampling.** Linear interpolation of ``P`` (nodes at the integer radii) onto N equally
   spaced points of ``[0, R - 1]``: ``np.interp(np.linspace(0, R - 1, N), radii, P)``.
   The paper interpolates cubically; linear is exactly reproducible on every backend.
7. **Normalisation.** Division by the mean of the N values (the output averages 1). The
   paper divides by the first value, which is the log magnitude of the single DC element: it
   measures the crop's brightness and is near zero for nearly black crops, so the feature blows
   up there. The mean of all N values is positive unless the crop is all zero (then the output
   is all zeros), and the output is bounded by ``[0, N]``.

Backends: :func:`radial_spectrum_reference` (float64, one crop, the steps literally),
:func:`radial_spectrum` (float64 fast CPU path: batched ``rfft2`` over the half-plane with
symmetry weights and cached bin maps, see :mod:`engine.features.radial_plan`), and the CUDA
extension ``deepscreen_fft`` (float32 cuFFT + one fused kernel), chosen by :class:`SpectralFeature`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.errors import BackendUnavailable, InputError, UsageError
from engine.features.crop_shapes import centre_square, group_by_side, squeeze_channel
from engine.features.radial_plan import (
    max_radius,
    radial_plan,
    radius_bins_from_r2,
    signed_frequencies,
)

GRAY_WEIGHTS_BGR = (0.114, 0.587, 0.299)
LOG_EPS = 1.0
DB_SCALE = 20.0
MIN_SIDE = 8
DEFAULT_BINS = 80

Crops = np.ndarray | Sequence[np.ndarray]


def to_gray(crop: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """(..., H, W) or (..., H, W, 3) BGR -> (..., H, W) grayscale in ``dtype``, no rounding."""
    if crop.ndim >= 3 and crop.shape[-1] == 3:
        b, g, r = GRAY_WEIGHTS_BGR
        c = crop.astype(dtype, copy=False)
        return b * c[..., 0] + g * c[..., 1] + r * c[..., 2]
    return crop.astype(dtype, copy=False)


def _check_crop(crop: np.ndarray, what: str) -> None:
    if crop.ndim not in (2, 3) or (crop.ndim == 3 and crop.shape[2] not in (1, 3)):
        raise InputError(f"{what}: expected an (H, W) or (H, W, 3) BGR crop, got {crop.shape}")
    if min(crop.shape[:2]) < MIN_SIDE:
        raise InputError(f"{what}: crop side {min(crop.shape[:2])} is below {MIN_SIDE} pixels")
    if not (np.issubdtype(crop.dtype, np.integer) or np.issubdtype(crop.dtype, np.floating)):
        raise InputError(f"{what}: unsupported dtype {crop.dtype}")


def _check_bins(bins: int) -> int:
    if int(bins) != bins or bins < 2:
        raise UsageError(f"bins must be an integer >= 2, got {bins!r}")
    return int(bins)


def radial_spectrum_reference(crop: np.ndarray, bins: int = DEFAULT_BINS) -> np.ndarray:
    """The feature of one crop, computed literally in float64 (the definition's steps 1-7).

    Slow on purpose: full complex plane, explicit fftshift, radius map per call. It is the
    yardstick for the fast CPU path and the CUDA extension.

    Args:
        crop: (H, W) grayscale or (H, W, 3) BGR crop, uint8 or float, 0..255 scale.
        bins: output length N.

    Returns:
        (bins,) float64.
    """
    bins = _check_bins(bins)
    crop = np.asarray(crop)
    _check_crop(crop, "radial_spectrum_reference")
    if crop.ndim == 3 and crop.shape[2] == 1:
        crop = crop[..., 0]
    gray = to_gray(centre_square(crop), np.float64)
    side = gray.shape[0]
    spectrum = np.fft.fftshift(np.fft.fft2(gray))
    log_mag = DB_SCALE * np.log(np.abs(spectrum) + LOG_EPS)
    k = signed_frequencies(side)
    r_bin = radius_bins_from_r2(k[:, None] ** 2 + k[None, :] ** 2)
    n_radii = max_radius(side) + 1
    sums = np.bincount(r_bin.ravel(), weights=log_mag.ravel(), minlength=n_radii)
    counts = np.bincount(r_bin.ravel(), minlength=n_radii)
    radii = np.flatnonzero(counts)
    profile = sums[radii] / counts[radii]
    out = np.interp(np.linspace(0.0, n_radii - 1.0, bins), radii.astype(np.float64), profile)
    mean = out.mean()
    return out / mean if mean > 0 else np.zeros_like(out)


def _as_crop_list(crops: Crops) -> list[np.ndarray] | np.ndarray:
    """Validate input; return a 3D/4D batch array, or a list of single crops."""
    if isinstance(crops, np.ndarray):
        if crops.ndim == 4 and crops.shape[3] == 1:
            crops = crops[..., 0]
        if crops.ndim not in (3, 4) or (crops.ndim == 4 and crops.shape[3] != 3):
            raise InputError(
                "expected a batch (N, H, W) or (N, H, W, 3) BGR, or a list of crops; "
                f"got {crops.shape}"
            )
        if len(crops):
            _check_crop(crops[0], "radial_spectrum")
        return crops
    items = [np.asarray(c) for c in crops]
    for i, c in enumerate(items):
        _check_crop(c, f"radial_spectrum: crop {i}")
    return items


# Work on a few crops at a time so the float64 intermediates stay in cache: converting and
# transforming a whole 32 x 256 x 256 batch at once is several times slower than in chunks.
_CHUNK_PIXELS = 1 << 16


def _gray_chunk(chunk: np.ndarray) -> np.ndarray:
    if chunk.ndim == 4:
        # BGR -> gray as one matrix-vector product over the channel axis (float64).
        return chunk.astype(np.float64) @ np.asarray(GRAY_WEIGHTS_BGR)
    return chunk.astype(np.float64)


def _batch_fast(batch: np.ndarray, bins: int) -> np.ndarray:
    """Fast path for a (B, S, S) or (B, S, S, 3) batch of square crops -> (B, bins) float64.

    FFT, radial sums and resampling are float64. The logarithm is taken in float32: its
    rounding (about 6e-8 relative) is that of the float32 output itself, 10x below the 1e-6
    agreement with the reference, and it costs a quarter of the float64 logarithm.
    """
    n, side = batch.shape[0], batch.shape[1]
    plan = radial_plan(side, bins)
    weight32 = plan.weight.astype(np.float32)
    step = max(1, _CHUNK_PIXELS // (side * side))
    sums = np.empty((n, plan.n_radii))
    for start in range(0, n, step):
        chunk = batch[start : start + step]
        m = len(chunk)
        mag = np.abs(np.fft.rfft2(_gray_chunk(chunk))).reshape(m, -1)
        log_mag = mag.astype(np.float32)
        log_mag += np.float32(LOG_EPS)
        np.log(log_mag, out=log_mag)
        log_mag *= weight32
        # One bincount per chunk: crop i's bins are offset by i * n_radii.
        index = plan.bin_of[None, :] + (np.arange(m, dtype=np.int64) * plan.n_radii)[:, None]
        sums[start : start + m] = np.bincount(
            index.ravel(), weights=log_mag.ravel(), minlength=m * plan.n_radii
        ).reshape(m, plan.n_radii)
    profile = (sums * (DB_SCALE / np.maximum(plan.count, 1)))[:, plan.nonempty]
    out = profile[:, plan.left] * (1.0 - plan.frac) + profile[:, plan.right] * plan.frac
    mean = out.mean(axis=1, keepdims=True)
    return np.divide(out, mean, out=np.zeros_like(out), where=mean > 0)


def radial_spectrum(crops: Crops, bins: int = DEFAULT_BINS) -> np.ndarray:
    """The spectral feature of a batch on the CPU (fast path; matches the reference to 1e-6).

    Args:
        crops: (N, H, W) grayscale or (N, H, W, 3) BGR array, uint8 or float (0..255 scale),
            or a list of (H, W[, 3]) crops of possibly different sizes (grouped by size).
            Non-square crops are centre-cropped to square, never resized.
        bins: output length N (80 by default; the paper also uses 300).

    Returns:
        (N, bins) float32.

    Raises:
        InputError: a crop has the wrong shape or dtype, or is smaller than 8 pixels.
    """
    bins = _check_bins(bins)
    items = _as_crop_list(crops)
    if isinstance(items, np.ndarray):
        if len(items) == 0:
            return np.zeros((0, bins), np.float32)
        h, w = items.shape[1:3]
        s = min(h, w)
        square = items[:, (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        return _batch_fast(square, bins).astype(np.float32)
    out = np.zeros((len(items), bins), np.float32)
    for idx in group_by_side(items).values():
        batch = np.stack([centre_square(squeeze_channel(items[i])) for i in idx])
        out[idx] = _batch_fast(batch, bins)
    return out


BACKENDS = ("auto", "cuda", "cpu")


def describe_backend() -> tuple[str, str]:
    """Which backend ``SpectralFeature(backend="auto")`` picks here, and why.

    Returns:
        (name, reason): name is "cuda" or "cpu"; reason is one human-readable line.
    """
    from engine.features.cuda_backend import cuda_backend_status

    ok, reason = cuda_backend_status()
    if ok:
        return "cuda", reason
    return "cpu", f"numpy rfft2 float64; CUDA extension not used: {reason}"


class SpectralFeature:
    """Callable computing the spectral feature on the best available backend.

    Args:
        bins: output length N.
        backend: "auto" (the CUDA extension when it is importable and a GPU is present, else
            the CPU path), "cuda" (fail if unavailable) or "cpu".

    Attributes:
        backend_name: "cuda" or "cpu", the backend actually used.
        reason: why that backend was chosen.

    Raises:
        UsageError: unknown backend name or bad bins.
        BackendUnavailable: backend="cuda" but the extension or the GPU is missing.
    """

    def __init__(self, bins: int = DEFAULT_BINS, backend: str = "auto") -> None:
        if backend not in BACKENDS:
            raise UsageError(f"unknown spectral backend {backend!r}; choose from {BACKENDS}")
        self.bins = _check_bins(bins)
        self._cuda = None
        if backend == "cpu":
            self.backend_name, self.reason = "cpu", "requested"
            return
        from engine.features.cuda_backend import CudaSpectral, cuda_backend_status

        ok, reason = cuda_backend_status()
        if ok:
            self._cuda = CudaSpectral(self.bins)
            self.backend_name, self.reason = "cuda", reason
        elif backend == "cuda":
            raise BackendUnavailable(f"spectral backend 'cuda' unavailable: {reason}")
        else:
            self.backend_name, self.reason = "cpu", reason

    def __call__(self, crops: Crops) -> np.ndarray:
        """Features of a batch (see :func:`radial_spectrum` for the accepted inputs).

        On the CUDA backend, objects exposing ``__cuda_array_interface__`` are accepted too.

        Returns:
            (N, bins) float32 on the host.
        """
        if self._cuda is not None:
            return self._cuda(crops)
        if hasattr(crops, "__cuda_array_interface__"):
            raise InputError(
                f"device arrays need the cuda spectral backend; this one is cpu ({self.reason})"
            )
        return radial_spectrum(crops, self.bins)

    def __repr__(self) -> str:
        return f"SpectralFeature(bins={self.bins}, backend_name={self.backend_name!r})"


def feature_for(bins: int, uses_spectrum: bool, backend: str = "auto") -> SpectralFeature:
    """The spectral feature to pair with a classifier that does (or does not) read it.

    A network whose output does not depend on its ``spectrum`` input never runs the feature
    (:meth:`engine.classifier.Classifier.classify` feeds it zeros), so it gets the CPU path,
    which costs nothing to construct: no CUDA FFT plan or device memory is taken for it, and a
    missing CUDA extension is no reason to refuse such a model, even with ``backend="cuda"``.

    Raises:
        UsageError: unknown backend name or bad bins.
        BackendUnavailable: the network reads the spectrum, backend="cuda", and CUDA is missing.
    """
    if backend not in BACKENDS:
        raise UsageError(f"unknown spectral backend {backend!r}; choose from {BACKENDS}")
    if uses_spectrum:
        return SpectralFeature(bins, backend=backend)
    feature = SpectralFeature(bins, backend="cpu")
    feature.reason = "not computed: the model ignores its spectrum input"
    return feature
