"""deepscreen_fft: the deepscreen spectral feature on an NVIDIA GPU.

Same definition as ``engine.features.spectral`` (see its docstring and docs/SPECTRAL.md):
BT.601 grayscale of the centred square crop, 2D FFT, ``20 * ln(|F| + 1)``, mean over integer
radius bins, linear resampling to ``bins`` points, division by their mean. Computed in float32
with cuFFT; agrees with the float64 reference to better than 1e-4 relative.

Inputs: a host NumPy array, or any object exposing ``__cuda_array_interface__`` (CuPy arrays,
PyTorch CUDA tensors, pycuda GPUArrays), or a raw device pointer through
:func:`radial_spectrum_ptr`. Shapes (N, H, W) grayscale or (N, H, W, 3) BGR, uint8 or float32
on the 0..255 scale; non-square crops are centre-cropped on the device.

Without a usable GPU every computing call raises :class:`CudaUnavailableError` naming the
reason (for example ``no CUDA driver: cudaErrorInsufficientDriver (...)``); importing never fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from deepscreen_fft import _core
from deepscreen_fft._core import CudaError, CudaUnavailableError

__version__ = "0.1.0"
__all__ = [
    "CudaError",
    "CudaUnavailableError",
    "cached_plans",
    "cuda_status",
    "cufft_candidates",
    "radial_spectrum",
    "radial_spectrum_ptr",
]

_TYPES = {np.dtype(np.uint8): "u8", np.dtype(np.float32): "f32"}


def cufft_candidates() -> list[str]:
    """Where cuFFT is looked for, in order: $DEEPSCREEN_CUFFT, the nvidia-cufft pip packages
    (CUDA 13 then 12 layouts), then the loader's default search (LD_LIBRARY_PATH, JetPack)."""
    found: list[str] = []
    env = os.environ.get("DEEPSCREEN_CUFFT")
    if env:
        found.append(env)
    try:
        import nvidia  # namespace package of the NVIDIA wheels

        for root in getattr(nvidia, "__path__", []):
            for rel in ("cu13/lib/libcufft.so.12", "cufft/lib/libcufft.so.11"):
                path = Path(root) / rel
                if path.exists():
                    found.append(str(path))
    except ImportError:
        pass
    found += ["libcufft.so.12", "libcufft.so.11", "libcufft.so"]
    return found


_core.set_cufft_candidates(cufft_candidates())


def cuda_status() -> tuple[bool, str]:
    """(ok, reason): whether a driver, a device and cuFFT are present. Never raises."""
    return _core.cuda_status()


def cached_plans() -> list[tuple[int, int, int]]:
    """(device, side, batch) of the cuFFT plans cached so far (most recent first)."""
    return _core.cached_plans()


def _check_bins(bins: int) -> int:
    if int(bins) != bins or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    return int(bins)


def _shape4(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    if len(shape) == 3:
        return shape[0], shape[1], shape[2], 1
    if len(shape) == 4 and shape[3] in (1, 3):
        return shape[0], shape[1], shape[2], shape[3]
    raise ValueError(f"expected crops of shape (N, H, W) or (N, H, W, 3), got {tuple(shape)}")


def _device_view(obj) -> tuple[int, tuple, str, tuple[int, int, int], int | None]:
    """(pointer, shape, type, element strides (n, y, x), producer stream) from the CAI."""
    cai = obj.__cuda_array_interface__
    shape = tuple(int(s) for s in cai["shape"])
    n, h, w, c = _shape4(shape)
    dtype = np.dtype(cai["typestr"])
    if dtype not in _TYPES:
        raise ValueError(f"device crops must be uint8 or float32, got {dtype}")
    item = dtype.itemsize
    strides = cai.get("strides")
    if strides is None:
        strides = tuple(
            int(np.prod(shape[i + 1 :], dtype=np.int64)) * item for i in range(len(shape))
        )
    if len(shape) == 4 and strides[3] != item:
        raise ValueError("the channel axis of device crops must be contiguous")
    if any(s % item for s in strides[:3]):
        raise ValueError("device crop strides must be multiples of the element size")
    ptr = int(cai["data"][0])
    elem_strides = tuple(s // item for s in strides[:3])
    return ptr, (n, h, w, c), _TYPES[dtype], elem_strides, cai.get("stream")


def radial_spectrum(crops, bins: int = 80, stream: int | None = None, out=None):
    """Spectral features of a batch of crops on the GPU.

    Args:
        crops: host ``np.ndarray`` or a device array exposing ``__cuda_array_interface__``,
            (N, H, W) or (N, H, W, 3) BGR, uint8 or float32 (other host dtypes are converted).
        bins: output length.
        stream: CUDA stream handle (int; 0 = legacy default stream). For a device array
            without an explicit stream, the array's own CAI stream is used when it names one.
        out: optional device array (CAI, float32, C-contiguous, (N, bins)) to write into
            asynchronously; without it the result comes back to the host and the stream is
            synchronised.

    Returns:
        (N, bins) float32 ``np.ndarray``, or ``out``.

    Raises:
        CudaUnavailableError: no driver, no device or no cuFFT (the message says which).
        ValueError: bad shape, dtype or strides.
    """
    bins = _check_bins(bins)
    if hasattr(crops, "__cuda_array_interface__"):
        ptr, (n, h, w, c), kind, (sn, sy, sx), cai_stream = _device_view(crops)
        handle = stream if stream is not None else (cai_stream or 0)
        if out is not None:
            out_ptr = _output_pointer(out, n, bins)
            _core.spectrum_device(ptr, n, h, w, c, kind, sn, sy, sx, bins, handle, out_ptr)
            return out
        return _device_to_host(ptr, n, h, w, c, kind, (sn, sy, sx), bins, handle)
    if out is not None:
        raise ValueError("out= is only supported for device inputs")
    arr = np.asarray(crops)
    _shape4(arr.shape)
    if arr.ndim == 4 and arr.shape[3] == 1:
        arr = arr[..., 0]
    if arr.dtype not in _TYPES:
        arr = arr.astype(np.float32)
    return _core.spectrum_host(np.ascontiguousarray(arr), bins, stream or 0)


def radial_spectrum_ptr(ptr: int, shape: tuple[int, ...], dtype: str, bins: int,
                        out_ptr: int, stream: int = 0,
                        strides: tuple[int, int, int] | None = None) -> None:
    """Raw-pointer form (e.g. ``int(pycuda_allocation)``): asynchronous, device to device.

    Args:
        ptr: device address of the first crop.
        shape: (N, H, W) or (N, H, W, 3).
        dtype: "uint8" or "float32".
        bins: output length.
        out_ptr: device address of N * bins float32 outputs.
        stream: CUDA stream handle.
        strides: element strides of the (N, H, W) axes; default C-contiguous.
    """
    n, h, w, c = _shape4(tuple(shape))
    kind = _TYPES.get(np.dtype(dtype))
    if kind is None:
        raise ValueError(f"dtype must be uint8 or float32, got {dtype}")
    sn, sy, sx = strides or (h * w * c, w * c, c)
    _core.spectrum_device(int(ptr), n, h, w, c, kind, sn, sy, sx, _check_bins(bins), stream,
                          int(out_ptr))


def _output_pointer(out, n: int, bins: int) -> int:
    cai = out.__cuda_array_interface__
    if np.dtype(cai["typestr"]) != np.float32 or tuple(cai["shape"]) != (n, bins):
        raise ValueError(f"out must be a float32 device array of shape ({n}, {bins})")
    if cai.get("strides") not in (None, (bins * 4, 4)):
        raise ValueError("out must be C-contiguous")
    return int(cai["data"][0])


def _device_to_host(ptr, n, h, w, c, kind, strides, bins, stream) -> np.ndarray:
    """Device input, host output, without a CUDA Python package: the extension allocates."""
    return _core.spectrum_device_to_host(ptr, n, h, w, c, kind, *strides, bins, stream)
