"""Read a .tflite flatbuffer into plain dataclasses: operators in graph order, tensors, buffers.

No TensorFlow: the flatbuffer is parsed with the small ``tflite`` package (generated schema
accessors). Only what a weight importer needs is decoded: operator codes, tensor indices, the
options of convolutions / pools / adds, tensor shapes, dtypes, quantization records and raw
constant buffers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import BackendUnavailable, ModelError

# tflite TensorType enum -> numpy dtype (the types a quantized image classifier uses).
_DTYPES: dict[int, np.dtype] = {
    0: np.dtype(np.float32),
    1: np.dtype(np.float16),
    2: np.dtype(np.int32),
    3: np.dtype(np.uint8),
    4: np.dtype(np.int64),
    6: np.dtype(np.bool_),
    7: np.dtype(np.int16),
    9: np.dtype(np.int8),
    10: np.dtype(np.float64),
}
_PADDING = {0: "SAME", 1: "VALID"}
_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


@dataclass(frozen=True)
class Quantization:
    """Affine quantization of one tensor: ``real = scale * (q - zero_point)``.

    Attributes:
        scale: one value (per tensor) or one per slice along ``axis``.
        zero_point: same length as ``scale``.
        axis: the quantized dimension for per-axis records, None for per-tensor.
    """

    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None


@dataclass(frozen=True)
class TFLiteTensor:
    """One tensor of the graph.

    Attributes:
        index: position in the subgraph's tensor table (what operators refer to).
        name: tensor name (TF op names, often several joined by ';').
        shape: static shape (NHWC for activations; OHWI / 1HWC for conv weights).
        dtype: numpy dtype of the stored values.
        quantization: affine record, None for float tensors.
        data: the constant buffer reshaped to ``shape``, None for activations.
    """

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    quantization: Quantization | None
    data: np.ndarray | None


@dataclass(frozen=True)
class TFLiteOperator:
    """One operator, in execution order.

    Attributes:
        index: position in the operator list.
        opcode: builtin operator name, e.g. ``CONV_2D``, ``DEPTHWISE_CONV_2D``, ``ADD``.
        inputs: tensor indices (-1 = optional input absent).
        outputs: tensor indices.
        options: decoded options: ``padding`` ("SAME"/"VALID"), ``stride`` (h, w),
            ``dilation`` (h, w), ``depth_multiplier``, ``activation`` ("NONE", "RELU6", ...),
            ``filter`` (h, w) for pools. Empty for operators whose options are not decoded.
    """

    index: int
    opcode: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TFLiteGraph:
    """The first subgraph of a .tflite model.

    Attributes:
        path: the file read.
        operators: operators in execution (graph) order.
        tensors: tensor table, indexed by ``TFLiteTensor.index``.
        inputs: graph input tensor indices.
        outputs: graph output tensor indices.
    """

    path: Path
    operators: list[TFLiteOperator]
    tensors: list[TFLiteTensor]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    def tensor(self, index: int) -> TFLiteTensor:
        """The tensor at ``index`` in the tensor table."""
        return self.tensors[index]


def read_tflite(path: str | Path) -> TFLiteGraph:
    """Parse a .tflite file.

    Args:
        path: the .tflite flatbuffer.

    Returns:
        The first subgraph with its operators, tensors and constant buffers.

    Raises:
        ModelError: the file is missing or not a TFLite flatbuffer.
        BackendUnavailable: the ``tflite`` package is not installed.
    """
    try:
        import tflite
        from tflite.BuiltinOperator import BuiltinOperator
    except ImportError as exc:
        raise BackendUnavailable(
            "reading .tflite files needs the `tflite` package: pip install 'deepscreen[train]'"
        ) from exc

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"TFLite file not found: {path}")
    raw = path.read_bytes()
    # Bytes 4..8 hold the file identifier "TFL3" in every TFLite flatbuffer.
    if len(raw) < 8 or raw[4:8] != b"TFL3":
        raise ModelError(f"{path} is not a TFLite flatbuffer (no TFL3 identifier)")
    model = tflite.Model.GetRootAsModel(raw, 0)
    if model.SubgraphsLength() < 1:
        raise ModelError(f"{path} has no subgraph")
    graph = model.Subgraphs(0)
    op_names = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}

    tensors = [_read_tensor(model, graph.Tensors(i), i, raw) for i in range(graph.TensorsLength())]
    operators = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        # Codes >= 127 live only in BuiltinCode; older files only fill DeprecatedBuiltinCode.
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        opcode = op_names.get(builtin, f"BUILTIN_{builtin}")
        operators.append(
            TFLiteOperator(
                index=i,
                opcode=opcode,
                inputs=tuple(int(t) for t in _as_array(op.InputsAsNumpy())),
                outputs=tuple(int(t) for t in _as_array(op.OutputsAsNumpy())),
                options=_read_options(tflite, opcode, op),
            )
        )
    return TFLiteGraph(
        path=path,
        operators=operators,
        tensors=tensors,
        inputs=tuple(int(t) for t in _as_array(graph.InputsAsNumpy())),
        outputs=tuple(int(t) for t in _as_array(graph.OutputsAsNumpy())),
    )


def dequantize(tensor: TFLiteTensor) -> np.ndarray:
    """Constant tensor -> float32 values (``scale * (q - zero_point)``, per tensor or per axis).

    Float tensors are returned as float32 unchanged. Works for uint8/int8 weights and int32
    biases (whose record holds ``input_scale * weight_scale`` and a zero point of 0).

    Raises:
        ModelError: the tensor has no constant data, or an integer tensor has no scale.
    """
    if tensor.data is None:
        raise ModelError(f"tensor {tensor.name!r} has no constant data to dequantize")
    values = tensor.data
    if np.issubdtype(values.dtype, np.floating):
        return values.astype(np.float32)
    q = tensor.quantization
    if q is None:
        raise ModelError(f"integer tensor {tensor.name!r} has no quantization record")
    scale = q.scale.astype(np.float64)
    zero = q.zero_point.astype(np.float64)
    if q.axis is not None and scale.size > 1:
        view = [1] * values.ndim
        view[q.axis] = scale.size
        scale, zero = scale.reshape(view), zero.reshape(view)
    return ((values.astype(np.float64) - zero) * scale).astype(np.float32)


def _as_array(values: Any) -> np.ndarray:
    # The generated accessors return the int 0 instead of an empty array for absent vectors.
    return values if isinstance(values, np.ndarray) else np.zeros(0, dtype=np.int32)


def _read_tensor(model: Any, tensor: Any, index: int, raw: bytes) -> TFLiteTensor:
    type_code = tensor.Type()
    dtype = _DTYPES.get(type_code)
    shape = tuple(int(d) for d in _as_array(tensor.ShapeAsNumpy()))
    name = tensor.Name().decode("utf-8", "replace")
    data = None
    buffer = model.Buffers(tensor.Buffer())
    if buffer is not None and dtype is not None:
        # Files over 2 GB keep buffers outside the flatbuffer (offset/size); small ones inline.
        if buffer.Offset() > 1:
            blob = raw[buffer.Offset() : buffer.Offset() + buffer.Size()]
        else:
            blob = _as_array(buffer.DataAsNumpy()).tobytes()
        if blob:
            data = np.frombuffer(blob, dtype=dtype).reshape(shape).copy()
    return TFLiteTensor(
        index=index,
        name=name,
        shape=shape,
        dtype=dtype if dtype is not None else np.dtype(np.void),
        quantization=_read_quantization(tensor.Quantization()),
        data=data,
    )


def _read_quantization(record: Any) -> Quantization | None:
    if record is None or record.ScaleIsNone() or record.ScaleLength() == 0:
        return None
    scale = _as_array(record.ScaleAsNumpy()).astype(np.float32)
    zero = _as_array(record.ZeroPointAsNumpy()).astype(np.int64)
    if zero.size == 0:
        zero = np.zeros_like(scale, dtype=np.int64)
    axis = int(record.QuantizedDimension()) if scale.size > 1 else None
    return Quantization(scale=scale, zero_point=zero, axis=axis)


def _read_options(tflite: Any, opcode: str, op: Any) -> dict[str, Any]:
    table = op.BuiltinOptions()
    if table is None:
        return {}

    def parsed(cls: Any) -> Any:
        opt = cls()
        opt.Init(table.Bytes, table.Pos)
        return opt

    if opcode == "CONV_2D":
        opt = parsed(tflite.Conv2DOptions)
        return _windowed(opt, dilation=(opt.DilationHFactor(), opt.DilationWFactor()))
    if opcode == "DEPTHWISE_CONV_2D":
        opt = parsed(tflite.DepthwiseConv2DOptions)
        return _windowed(opt, dilation=(opt.DilationHFactor(), opt.DilationWFactor()),
                         depth_multiplier=opt.DepthMultiplier())
    if opcode in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        opt = parsed(tflite.Pool2DOptions)
        return _windowed(opt, filter=(opt.FilterHeight(), opt.FilterWidth()))
    if opcode in ("ADD", "FULLY_CONNECTED"):
        opt = parsed(tflite.AddOptions if opcode == "ADD" else tflite.FullyConnectedOptions)
        return {"activation": _activation(opt)}
    return {}


def _windowed(opt: Any, **own: Any) -> dict[str, Any]:
    """A windowed op's options: padding, stride, the op's ``own`` options, fused activation."""
    return {"padding": _PADDING.get(opt.Padding(), str(opt.Padding())),
            "stride": (opt.StrideH(), opt.StrideW()), **own, "activation": _activation(opt)}


def _activation(opt: Any) -> str:
    return _ACTIVATIONS.get(opt.FusedActivationFunction(), "UNKNOWN")
