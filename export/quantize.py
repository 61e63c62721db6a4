"""Post-training INT8 quantization into Q/DQ ONNX that TensorRT 10/11 builds strongly typed.

TensorRT has no INT8 calibrator any more (removed in 11, deprecated in 10): INT8 is expressed
by QuantizeLinear/DequantizeLinear pairs in the ONNX. TensorRT accepts only symmetric INT8 with
zero-point 0, per-tensor activations and per-channel weights (on the output-channel axis), so
the quantizer is configured exactly that way. The activation ranges come from
:mod:`calibration.ranges` (cached as JSON; retries that keep layers in float reuse them).
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import numpy as np

from calibration.ranges import QUANTIZED_OPS, ArrayReader, calibrate, calibration_method
from engine.errors import ModelError

log = logging.getLogger(__name__)


def quantizable_nodes(model_path: Path) -> list[str]:
    """Names of the nodes the quantizer would put in INT8 (candidates for exclusion)."""
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    return [n.name for n in model.graph.node if n.op_type in QUANTIZED_OPS]


def quantize_int8(
    fp32: Path,
    out: Path,
    reader: ArrayReader | None,
    method: str = "minmax",
    cache: Path | None = None,
    nodes_to_exclude: list[str] | None = None,
    nodes_to_quantize: list[str] | None = None,
    percentile: float = 99.999,
) -> Path:
    """Write a Q/DQ INT8 model of ``fp32`` to ``out``.

    Args:
        fp32: the FP32 classifier ONNX.
        out: destination.
        reader: calibration batches; may be None when ``cache`` already holds the ranges.
        method: "minmax", "entropy" or "percentile".
        cache: JSON file of calibration ranges (created on first use, reused after).
        nodes_to_exclude: node names kept in float.
        nodes_to_quantize: when given, only these nodes are quantized (sensitivity probes).
        percentile: the percentile for method="percentile".

    Raises:
        UsageError: unknown method.
        ModelError: quantization failed.
    """
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    calib = calibration_method(method)
    if cache is not None and not Path(cache).is_file() and reader is not None:
        calibrate(fp32, reader, method, Path(cache), percentile)
    extra = {
        # Zero-point 0 everywhere: TensorRT rejects asymmetric INT8.
        "ActivationSymmetric": True,
        "WeightSymmetric": True,
        # Ranges themselves symmetric around 0 too, so the scale covers max(|min|, |max|).
        "CalibTensorRangeSymmetric": True,
        "CalibPercentile": percentile,
        # Biases stay float: TensorRT's DequantizeLinear takes INT8 (or FP8/INT4) inputs only,
        # not the INT32 biases ORT would write, and fuses the float bias into the kernel.
        "QuantizeBias": False,
        # Keep Relu explicit so TensorRT sees the same graph as ORT and fuses it itself.
        "QDQKeepRemovableActivations": True,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    # ORT's quantizer logs a pre-processing hint at WARNING on every call: not useful here.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        # ORT's histogram calibrators print progress to stdout; the CLI reports its own.
        with contextlib.redirect_stdout(io.StringIO()):
            quantize_static(
                str(fp32),
                str(out),
                calibration_data_reader=reader,
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=list(QUANTIZED_OPS),
                per_channel=True,
                reduce_range=False,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=list(nodes_to_exclude or []),
                nodes_to_quantize=list(nodes_to_quantize or []),
                calibrate_method=calib,
                extra_options=extra,
                calibration_cache_path=str(cache) if cache else None,
            )
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"INT8 quantization of {fp32} failed: {exc}".splitlines()[0]) from exc
    finally:
        root.setLevel(level)
    _copy_metadata(fp32, out, {"deepscreen.precision": "int8", "deepscreen.calibration": method})
    return out


def _copy_metadata(src: Path, dst: Path, extra: dict[str, str]) -> None:
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
    meta.update(extra)
    model = onnx.load(str(dst))
    del model.metadata_props[:]
    for key, value in sorted(meta.items()):
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(dst))


def check_tensorrt_qdq(path: Path) -> dict[str, int]:
    """Check that every Q/DQ pair is what TensorRT accepts: INT8, zero-point 0.

    Returns:
        Counts: {"quantize": n, "dequantize": n, "per_channel": weights with a vector scale}.

    Raises:
        ModelError: a zero point is not 0 or not INT8.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    counts = {"quantize": 0, "dequantize": 0, "per_channel": 0}
    for node in model.graph.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        counts["quantize" if node.op_type == "QuantizeLinear" else "dequantize"] += 1
        if len(node.input) < 3 or node.input[2] not in inits:
            raise ModelError(f"{path}: {node.name} has no constant zero point")
        zp = inits[node.input[2]]
        if zp.dtype != np.int8 or np.any(zp != 0):
            raise ModelError(
                f"{path}: {node.name} zero point {zp.dtype} {zp.ravel()[:4]} is not int8 0"
            )
        scale = inits.get(node.input[1])
        if scale is not None and scale.size > 1:
            counts["per_channel"] += 1
    if counts["quantize"] == 0 and counts["dequantize"] == 0:
        raise ModelError(f"{path} has no Q/DQ nodes: nothing was quantized")
    return counts
