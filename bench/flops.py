"""Count the multiply-accumulates of an ONNX graph (Conv, ConvTranspose, Gemm, MatMul).

The physical limit of the classifier on an accelerator is its arithmetic: MACs per crop against
the device's measured multiply-add rate. The count is read from the graph after ONNX shape
inference with every symbolic dimension (the batch axis) pinned to 1, so it is per sample.
Element-wise ops, pooling and normalisation are not counted: in a CNN they are a few percent
of the arithmetic (and memory-bound rather than compute-bound), and the figure is a lower bound
on the work, which is what a roofline needs. ``flops = 2 * macs``.

Works on FP32, FP16 and Q/DQ INT8 graphs alike (in QDQ form the weights reach Conv through a
DequantizeLinear node, whose output shape inference knows).

``onnx`` belongs to the training extra: it is imported inside :func:`count_macs`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from engine.errors import ModelError

COUNTED_OPS: tuple[str, ...] = ("Conv", "ConvTranspose", "Gemm", "MatMul")


@dataclass(frozen=True)
class MacCount:
    """MACs per sample of one graph.

    Attributes:
        total_macs: sum over counted nodes.
        by_op: MACs per op type.
        nodes: (node name, op type, MACs) for every counted node, in graph order.
        uncounted: names of Conv/Gemm/MatMul nodes whose shapes were unknown (then the total
            is a lower bound; empty for every graph this project exports).
    """

    total_macs: int
    by_op: dict[str, int]
    nodes: list[tuple[str, str, int]] = field(repr=False)
    uncounted: list[str] = field(default_factory=list)

    @property
    def flops(self) -> int:
        """Floating-point operations (a multiply and an add per MAC)."""
        return 2 * self.total_macs


def _dims(value_info) -> list[int] | None:
    shape = value_info.type.tensor_type.shape
    dims = []
    for d in shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        else:
            return None
    return dims


def _pin_symbolic_dims(model) -> None:
    """Set every symbolic / unknown dimension of the graph inputs to 1 (per-sample count)."""
    for inp in model.graph.input:
        for d in inp.type.tensor_type.shape.dim:
            if not d.HasField("dim_value"):
                d.Clear()
                d.dim_value = 1


def _attr(node, name: str, default):
    for a in node.attribute:
        if a.name == name:
            if a.ints:
                return list(a.ints)
            return a.i if a.type == a.INT else default
    return default


def _node_macs(node, shapes: dict[str, list[int]]) -> int | None:
    ins = [shapes.get(n) for n in node.input]
    out = shapes.get(node.output[0]) if node.output else None
    if node.op_type in ("Conv", "ConvTranspose"):
        x, w = ins[0], ins[1]
        if x is None or w is None or out is None:
            return None
        if node.op_type == "Conv":
            # W: (C_out, C_in / group, k...); every output element needs C_in/group * prod(k).
            return math.prod(out) * w[1] * math.prod(w[2:])
        # ConvTranspose W: (C_in, C_out / group, k...); every input element scatters to
        # C_out/group * prod(k) outputs.
        return math.prod(x) * w[1] * math.prod(w[2:])
    if node.op_type == "Gemm":
        a, b = ins[0], ins[1]
        if a is None or b is None:
            return None
        trans_a = _attr(node, "transA", 0)
        trans_b = _attr(node, "transB", 0)
        m, k = (a[1], a[0]) if trans_a else (a[0], a[1])
        n = b[0] if trans_b else b[1]
        return m * k * n
    if node.op_type == "MatMul":
        a, b = ins[0], ins[1]
        if a is None or b is None or out is None:
            return None
        k = a[-1]
        return math.prod(out) * k
    return None


def count_macs(model_or_path) -> MacCount:
    """Count the MACs per sample of an ONNX model.

    Args:
        model_or_path: an ``onnx.ModelProto`` or a path to an .onnx file.

    Returns:
        The count, per op type and per node.

    Raises:
        ModelError: the file cannot be read or shape inference fails.
    """
    try:
        import onnx
    except ImportError as exc:  # the runtime extra has no onnx
        raise ModelError("counting FLOPs needs the 'onnx' package (pip install onnx)") from exc
    if isinstance(model_or_path, (str, os.PathLike)):
        try:
            model = onnx.load(os.fspath(model_or_path))
        except Exception as exc:
            raise ModelError(f"cannot read ONNX model {model_or_path}: {exc}") from exc
    else:
        model = onnx.ModelProto()
        model.CopyFrom(model_or_path)
    _pin_symbolic_dims(model)
    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as exc:
        raise ModelError(f"ONNX shape inference failed: {exc}") from exc

    graph = inferred.graph
    shapes: dict[str, list[int]] = {}
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        dims = _dims(vi)
        if dims is not None:
            shapes[vi.name] = dims
    for init in graph.initializer:
        shapes[init.name] = list(init.dims)

    by_op: dict[str, int] = {}
    nodes: list[tuple[str, str, int]] = []
    uncounted: list[str] = []
    for node in graph.node:
        if node.op_type not in COUNTED_OPS:
            continue
        macs = _node_macs(node, shapes)
        if macs is None:
            uncounted.append(node.name or node.output[0])
            continue
        by_op[node.op_type] = by_op.get(node.op_type, 0) + macs
        nodes.append((node.name or node.output[0], node.op_type, macs))
    return MacCount(sum(by_op.values()), by_op, nodes, uncounted)


def spectral_bytes(
    size: int, bins: int, input_bytes_per_pixel: int = 4, complex_bytes: int = 8
) -> int:
    """Minimum bytes one crop's spectral feature moves through device memory.

    The model of the CUDA path: read the SxS grayscale crop, write the S x (S/2+1) complex64
    R2C spectrum and read it back in the fused log-magnitude + radial-binning kernel, write the
    ``bins`` float32 outputs. cuFFT's internal passes for large sizes add traffic, so this is a
    lower bound: the measured rate divided by it gives an upper bound of achieved bandwidth.

    Args:
        size: side of the square crop in pixels.
        bins: length of the 1D spectrum.
        input_bytes_per_pixel: 4 for float32 input, 1 for uint8, 8 for the CPU's float64.
        complex_bytes: 8 for complex64 (CUDA path), 16 for complex128 (the CPU's float64 path).
    """
    spectrum = size * (size // 2 + 1) * complex_bytes
    return size * size * input_bytes_per_pixel + 2 * spectrum + bins * 4
