"""Activation ranges for INT8: the calibration data reader and ONNX Runtime's calibrators.

The ranges are stored as JSON in ONNX Runtime's calibration-cache format, so the quantizer
(:func:`export.quantize.quantize_int8`, through ``quantize_static(calibration_cache_path=...)``)
and every retry that keeps layers in float reuse them instead of calibrating again.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.backends.base import INPUT_CROPS, INPUT_SPECTRUM
from engine.errors import UsageError

METHODS = ("minmax", "entropy", "percentile")
# Ops whose inputs get Q/DQ: the compute-heavy ones. Elementwise ops stay in float and are
# fused by TensorRT around the quantized convolutions. Calibration collects ranges for these.
QUANTIZED_OPS = ("Conv", "Gemm", "MatMul")


@dataclass
class ArrayReader:
    """ONNX Runtime calibration data reader over prepared arrays, in fixed-size batches.

    Implements the ``CalibrationDataReader`` protocol (``get_next`` / ``rewind``) and
    ``set_range`` for strided calibration.
    """

    crops: np.ndarray
    spectrum: np.ndarray
    # Small on purpose: ORT's calibration graph holds much of every batch's activations at
    # once. `bench/calibration_memory.py` on the 224 px MobileNet (2-core box): peak RSS
    # 13.1 GB in batches of 64, 1.8 GB in 8; the two-model ensemble was killed at 24 GB in 64
    # and peaks at 3.4 GB in 8. Min-max ranges do not depend on the batching (tested).
    batch: int = 8

    def __post_init__(self) -> None:
        self._start, self._end = 0, len(self.crops)
        self.rewind()

    def rewind(self) -> None:
        self._pos = self._start

    def set_range(self, start_index: int, end_index: int) -> None:
        self._start, self._end = start_index, end_index
        self.rewind()

    def __len__(self) -> int:
        return len(self.crops)

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._pos >= self._end:
            return None
        sl = slice(self._pos, min(self._pos + self.batch, self._end))
        self._pos = sl.stop
        return {INPUT_CROPS: self.crops[sl], INPUT_SPECTRUM: self.spectrum[sl]}

    def __iter__(self):
        self.rewind()
        while (item := self.get_next()) is not None:
            yield item


def calibration_method(name: str):
    """ONNX Runtime's ``CalibrationMethod`` for "minmax", "entropy" or "percentile".

    Raises:
        UsageError: unknown method.
    """
    from onnxruntime.quantization import CalibrationMethod

    table = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }
    if name not in table:
        raise UsageError(f"unknown calibration method {name!r}; choose one of {', '.join(METHODS)}")
    return table[name]


# Histogram settings. quantize_static cannot pass them, and ORT's entropy default (128 bins,
# 128 quantized bins) leaves KL nothing to search: the result equals min-max. 2048 bins with 128
# quantized levels is the classic TensorRT entropy setting.
HIST_BINS = 2048
ENTROPY_QUANTIZED_BINS = 128


def calibrate(
    fp32: Path,
    reader: ArrayReader,
    method: str,
    cache: Path,
    percentile: float = 99.999,
    bins: int = HIST_BINS,
) -> Path:
    """Collect activation ranges with ONNX Runtime's calibrators and store them in ``cache``.

    The file has ONNX Runtime's calibration-cache format, so
    :func:`export.quantize.quantize_int8` and every later run reuse it.
    """
    import tempfile

    from onnxruntime.quantization.calibrate import create_calibrator, save_tensors_data

    options: dict[str, object] = {"symmetric": True}
    if method == "entropy":
        options.update(num_bins=bins, num_quantized_bins=ENTROPY_QUANTIZED_BINS)
    elif method == "percentile":
        options.update(num_bins=bins, percentile=percentile)
    with tempfile.TemporaryDirectory(prefix="deepscreen-calib-") as tmp, \
            contextlib.redirect_stdout(io.StringIO()):
        calibrator = create_calibrator(
            Path(fp32),
            list(QUANTIZED_OPS),
            augmented_model_path=str(Path(tmp) / "augmented.onnx"),
            calibrate_method=calibration_method(method),
            extra_options=options,
        )
        reader.rewind()
        calibrator.collect_data(reader)
        ranges = calibrator.compute_data()
        del calibrator
    save_tensors_data(ranges, cache)
    return cache
