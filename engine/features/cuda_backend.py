"""Glue between the engine and the optional CUDA extension ``deepscreen_fft`` (cpp_ext/).

The extension is a separate package: it may be missing (no nvcc at install time), installed on
a machine without a GPU (it then raises ``deepscreen_fft.CudaUnavailableError`` on every call),
or usable. This module turns those cases into one (ok, reason) answer and never crashes.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import numpy as np

from engine.errors import BackendUnavailable, InputError
from engine.features.crop_shapes import centre_square, group_by_side


def _import_extension():
    return importlib.import_module("deepscreen_fft")


def cuda_backend_status() -> tuple[bool, str]:
    """Can the CUDA extension compute features here?

    Returns:
        (ok, reason): reason names the extension version and GPU, or why it cannot be used.
    """
    try:
        ext = _import_extension()
    except ImportError as exc:
        return False, f"deepscreen_fft not installed ({exc}; build it with `pip install ./cpp_ext`)"
    try:
        ok, reason = ext.cuda_status()
    except Exception as exc:  # a broken build must not take the engine down
        return False, f"deepscreen_fft {getattr(ext, '__version__', '?')} failed: {exc}"
    version = getattr(ext, "__version__", "?")
    return bool(ok), f"deepscreen_fft {version}: {reason}"


class CudaSpectral:
    """The feature on the GPU through ``deepscreen_fft`` (same definition as the CPU path).

    Args:
        bins: output length N.
        stream: CUDA stream handle (int, 0 = legacy default stream) the work is queued on.
    """

    def __init__(self, bins: int, stream: int = 0) -> None:
        self.bins = bins
        self.stream = stream
        self._ext = _import_extension()

    def __call__(self, crops) -> np.ndarray:
        ext = self._ext
        try:
            if hasattr(crops, "__cuda_array_interface__") or isinstance(crops, np.ndarray):
                return ext.radial_spectrum(crops, bins=self.bins, stream=self.stream)
            return self._grouped(crops)
        except ext.CudaUnavailableError as exc:
            raise BackendUnavailable(str(exc)) from exc
        except ValueError as exc:
            raise InputError(str(exc)) from exc

    def _grouped(self, crops: Sequence) -> np.ndarray:
        items = [c if hasattr(c, "__cuda_array_interface__") else np.asarray(c) for c in crops]
        out = np.zeros((len(items), self.bins), np.float32)
        if any(hasattr(c, "__cuda_array_interface__") for c in items):
            # Device crops of mixed sizes: one call each (the extension centre-crops on device).
            for i, c in enumerate(items):
                out[i] = self._ext.radial_spectrum(c, bins=self.bins, stream=self.stream)[0]
            return out
        for idx in group_by_side(items).values():
            batch = np.ascontiguousarray(np.stack([centre_square(items[i]) for i in idx]))
            out[idx] = self._ext.radial_spectrum(batch, bins=self.bins, stream=self.stream)
        return out
