"""MobileNet V1 / V2 in PyTorch, shaped like the TFLite ImageNet graphs, and their weight loader.

BatchNorm is already folded into the TFLite convolutions, so every layer here is a convolution
with a bias, followed by ReLU6 or nothing. TensorFlow's "SAME" padding for a strided convolution
puts the extra row/column at the bottom/right, which PyTorch's symmetric ``padding=`` cannot
express: :class:`TFConv` pads explicitly, or the imported network drifts.

Input convention: float RGB, NCHW, ``(x - 127.5) / 127.5`` (see :func:`normalize_rgb`). Any
input size works; sizes that are multiples of 32 keep every stage an exact halving.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import ModelError, UsageError
from train.backbones.tflite_reader import TFLiteGraph, TFLiteOperator, dequantize, read_tflite

NUM_IMAGENET_CLASSES = 1001  # index 0 = background, as in imagenet_labels.txt

# MobileNetV2 inverted-residual stages: (expansion t, output channels c, repeats n, stride s).
_V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
              (6, 160, 3, 2), (6, 320, 1, 1))  # fmt: skip
# MobileNetV1 depthwise-separable layers: (output channels at width 1.0, stride).
_V1_LAYERS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
              (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))  # fmt: skip


class TFConv(nn.Module):
    """Convolution + bias (+ ReLU6) with TensorFlow "SAME" padding.

    Args:
        in_channels: input channels.
        out_channels: output channels (equal to ``in_channels`` when depthwise).
        kernel: square kernel size.
        stride: stride in both directions.
        depthwise: one filter per input channel (TFLite ``DEPTHWISE_CONV_2D``).
        relu6: apply ReLU6 (the TFLite fused activation) after the bias.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        *,
        depthwise: bool = False,
        relu6: bool = True,
    ) -> None:
        super().__init__()
        self.kernel, self.stride, self.depthwise, self.relu6 = kernel, stride, depthwise, relu6
        # Stride 1: SAME is symmetric (k - 1 split evenly for odd k), so Conv2d can pad itself.
        symmetric = kernel // 2 if stride == 1 else 0
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel,
            stride=stride,
            padding=symmetric,
            groups=in_channels if depthwise else 1,
            bias=True,
        )

    @property
    def tflite_opcode(self) -> str:
        """The TFLite operator this layer corresponds to."""
        return "DEPTHWISE_CONV_2D" if self.depthwise else "CONV_2D"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1 and self.kernel > 1:
            # Python ints, not traced shape arithmetic: an exported graph gets one constant Pad
            # for its (fixed) input size instead of ~15 shape nodes per strided layer.
            h, w = int(x.shape[-2]), int(x.shape[-1])
            x = F.pad(x, _same_pad(h, w, self.kernel, self.stride))
        x = self.conv(x)
        return F.relu6(x) if self.relu6 else x


def _same_pad(h: int, w: int, kernel: int, stride: int) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) padding of TF "SAME": the odd pixel goes right/bottom."""

    def split(size: int) -> tuple[int, int]:
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
        return total // 2, total - total // 2

    top, bottom = split(h)
    left, right = split(w)
    return left, right, top, bottom


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (ReLU6), 3x3 depthwise (ReLU6), 1x1 linear projection."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(TFConv(in_channels, hidden, 1))
        layers.append(TFConv(hidden, hidden, 3, stride, depthwise=True))
        layers.append(TFConv(hidden, out_channels, 1, relu6=False))
        self.layers = nn.Sequential(*layers)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.layers(x)
        return x + y if self.residual else y


class DepthwiseSeparable(nn.Module):
    """MobileNetV1 layer: 3x3 depthwise (ReLU6) then 1x1 pointwise (ReLU6)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.depthwise = TFConv(in_channels, in_channels, 3, stride, depthwise=True)
        self.pointwise = TFConv(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class _MobileNet(nn.Module):
    """Shared head: ``features`` (named nn.Sequential) -> global mean -> ``classifier``."""

    features: nn.Sequential
    classifier: nn.Linear
    num_features: int

    @property
    def block_names(self) -> list[str]:
        """Names of ``features``' entries, in order (the TF scope names)."""
        return [name for name, _ in self.features.named_children()]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Spatial feature map (N, num_features, H/32, W/32) before pooling."""
        return self.features(x)

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Global average pool, then the ImageNet classifier unless ``pre_logits``."""
        pooled = features.mean(dim=(2, 3))
        return pooled if pre_logits else self.classifier(pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (N, 1001); index 0 = background."""
        return self.forward_head(self.forward_features(x))


class MobileNetV2(_MobileNet):
    """MobileNetV2 as in ``mobilenet_v2_1.0_224_quant.tflite``.

    ``features`` holds 19 entries: ``Conv`` (stem), ``expanded_conv`` and ``expanded_conv_1`` ..
    ``expanded_conv_16`` (the 17 inverted-residual blocks), ``Conv_1`` (1x1 to 1280).
    ``features[6]`` is ``expanded_conv_5`` (28x28x32 at 224 px).

    Args:
        width: channel multiplier (the TFLite files here are 1.0).
        num_classes: classifier outputs.
    """

    def __init__(self, width: float = 1.0, num_classes: int = NUM_IMAGENET_CLASSES) -> None:
        super().__init__()
        self.width = width
        channels = _make_divisible(32 * width)
        blocks: list[tuple[str, nn.Module]] = [("Conv", TFConv(3, channels, 3, 2))]
        for t, c, n, s in _V2_STAGES:
            out = _make_divisible(c * width)
            for i in range(n):
                name = "expanded_conv" if not blocks[1:] else f"expanded_conv_{len(blocks) - 1}"
                blocks.append((name, InvertedResidual(channels, out, s if i == 0 else 1, t)))
                channels = out
        self.num_features = _make_divisible(1280 * width) if width > 1.0 else 1280
        blocks.append(("Conv_1", TFConv(channels, self.num_features, 1)))
        self.features = nn.Sequential(OrderedDict(blocks))
        self.classifier = nn.Linear(self.num_features, num_classes)


class MobileNetV1(_MobileNet):
    """MobileNetV1 as in ``mobilenet_v1_{0.25_128,0.5_160}_quant.tflite``.

    ``features`` holds 14 entries: ``Conv2d_0`` (stem) and ``Conv2d_1`` .. ``Conv2d_13``
    (depthwise-separable layers).

    Args:
        width: channel multiplier (0.25, 0.5, 0.75, 1.0).
        num_classes: classifier outputs.
    """

    def __init__(self, width: float = 0.25, num_classes: int = NUM_IMAGENET_CLASSES) -> None:
        super().__init__()
        self.width = width

        def depth(c: int) -> int:
            return max(int(c * width), 8)  # TF-slim's min_depth

        channels = depth(32)
        blocks: list[tuple[str, nn.Module]] = [("Conv2d_0", TFConv(3, channels, 3, 2))]
        for i, (c, s) in enumerate(_V1_LAYERS, start=1):
            blocks.append((f"Conv2d_{i}", DepthwiseSeparable(channels, depth(c), s)))
            channels = depth(c)
        self.num_features = channels
        self.features = nn.Sequential(OrderedDict(blocks))
        self.classifier = nn.Linear(self.num_features, num_classes)


def _make_divisible(value: float, divisor: int = 8) -> int:
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def normalize_rgb(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8-range RGB (NHWC array or NCHW tensor) -> float NCHW ``(x - 127.5) / 127.5``."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    return (images.float() - 127.5) / 127.5


def freeze_through(model: _MobileNet, block: str | int) -> int:
    """Freeze ``model.features`` up to and including ``block``; return how many entries froze.

    Args:
        model: a MobileNetV1/V2.
        block: a name from ``model.block_names`` (e.g. ``"expanded_conv_5"``) or an index.

    Returns:
        ``k`` such that ``model.features[:k]`` is frozen (cache its output, train the rest).
    """
    names = model.block_names
    if isinstance(block, str):
        if block not in names:
            raise UsageError(f"no block {block!r} in {type(model).__name__}; blocks: {names}")
        block = names.index(block)
    if not 0 <= block < len(names):
        raise UsageError(f"block index {block} out of range 0..{len(names) - 1}")
    for param in model.features[: block + 1].parameters():
        param.requires_grad_(False)
    return block + 1


@dataclass(frozen=True)
class TFLiteImport:
    """What :func:`load_tflite_weights` copied.

    Attributes:
        path: the .tflite file.
        layers: convolutions + classifier loaded.
        input_size: (height, width) the file was built for.
    """

    path: Path
    layers: int
    input_size: tuple[int, int]


def load_tflite_weights(model: _MobileNet, path: str | Path) -> TFLiteImport:
    """Copy the dequantized weights and biases of a TFLite MobileNet into ``model``.

    The TFLite operators are walked in graph order; each ``CONV_2D`` / ``DEPTHWISE_CONV_2D``
    (and the final 1x1 logits convolution or ``FULLY_CONNECTED``) is matched to the next layer
    of ``model`` in forward order, checking operator kind, stride, padding, activation and
    shapes. Nothing is assumed about tensor order.

    Args:
        model: a :class:`MobileNetV2` or :class:`MobileNetV1` of the file's width.
        path: the .tflite file.

    Returns:
        A summary of the import.

    Raises:
        ModelError: the file's graph does not match ``model`` (wrong family, width or classes).
    """
    graph = read_tflite(path)
    name = f"{Path(path).name} into {type(model).__name__}(width={model.width})"
    ops = [op for op in graph.operators if op.opcode in _WEIGHTED_OPS]
    layers = [m for m in model.features.modules() if isinstance(m, TFConv)]
    if len(ops) != len(layers) + 1:
        raise ModelError(
            f"cannot load {name}: the file has {len(ops)} weighted layers, the model "
            f"{len(layers) + 1}: wrong architecture for this file"
        )
    residuals = sum(isinstance(m, InvertedResidual) and m.residual for m in model.modules())
    adds = sum(op.opcode == "ADD" for op in graph.operators)
    if adds != residuals:
        raise ModelError(f"cannot load {name}: {adds} ADD ops, the model has {residuals} skips")

    with torch.no_grad():
        for i, (op, layer) in enumerate(zip(ops[:-1], layers, strict=True)):
            _check_layer(name, i, op, layer)
            weight, bias = _weights(graph, op)
            if op.opcode == "DEPTHWISE_CONV_2D":
                weight = weight.transpose(3, 0, 1, 2)  # 1HWC -> C1HW
            else:
                weight = weight.transpose(0, 3, 1, 2)  # OHWI -> OIHW
            _copy(name, i, layer.conv.weight, weight)
            _copy(name, i, layer.conv.bias, bias)
        weight, bias = _weights(graph, ops[-1])
        if ops[-1].options.get("activation", "NONE") != "NONE":
            raise ModelError(f"cannot load {name}: the logits layer has an activation")
        _copy(name, len(layers), model.classifier.weight, weight.reshape(weight.shape[0], -1))
        _copy(name, len(layers), model.classifier.bias, bias)
    shape = graph.tensor(graph.inputs[0]).shape
    return TFLiteImport(path=Path(path), layers=len(ops), input_size=(shape[1], shape[2]))


_WEIGHTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def _check_layer(name: str, i: int, op: TFLiteOperator, layer: TFConv) -> None:
    opts = op.options
    problems = []
    if op.opcode != layer.tflite_opcode:
        problems.append(f"operator {op.opcode}, model layer {layer.tflite_opcode}")
    if tuple(opts.get("stride", (1, 1))) != (layer.stride, layer.stride):
        problems.append(f"stride {opts.get('stride')}, model {layer.stride}")
    if tuple(opts.get("dilation", (1, 1))) != (1, 1):
        problems.append(f"dilation {opts.get('dilation')}")
    if opts.get("padding") == "VALID" and layer.kernel > 1:
        problems.append("VALID padding (the model pads SAME)")
    if opts.get("depth_multiplier", 1) != 1:
        problems.append(f"depth multiplier {opts['depth_multiplier']}")
    expected = "RELU6" if layer.relu6 else "NONE"
    if opts.get("activation") != expected:
        problems.append(f"activation {opts.get('activation')}, model {expected}")
    if problems:
        raise ModelError(f"cannot load {name}: layer {i} (op {op.index}): " + "; ".join(problems))


def _weights(graph: TFLiteGraph, op: TFLiteOperator) -> tuple[np.ndarray, np.ndarray]:
    weight = dequantize(graph.tensor(op.inputs[1]))
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        bias = dequantize(graph.tensor(op.inputs[2]))
    else:
        bias = np.zeros(weight.shape[-1 if op.opcode == "DEPTHWISE_CONV_2D" else 0], np.float32)
    return weight, bias


def _copy(name: str, i: int, target: torch.Tensor, values: np.ndarray) -> None:
    if tuple(target.shape) != values.shape:
        raise ModelError(
            f"cannot load {name}: layer {i} has shape {values.shape} in the file, "
            f"{tuple(target.shape)} in the model (wrong width or number of classes?)"
        )
    target.copy_(torch.from_numpy(np.ascontiguousarray(values)))


def mobilenet_from_tflite(path: str | Path, family: str | None = None) -> _MobileNet:
    """Build the MobileNet that a TFLite file describes and load its weights.

    Args:
        path: a MobileNet V1/V2 .tflite file.
        family: ``"v1"`` or ``"v2"`` to insist on one; None infers it from the graph.

    Raises:
        ModelError: the file is not a MobileNet V1/V2 of a supported shape.
    """
    graph = read_tflite(path)
    depthwise = sum(op.opcode == "DEPTHWISE_CONV_2D" for op in graph.operators)
    inferred = {17: "v2", 13: "v1"}.get(depthwise)
    if inferred is None or (family is not None and family != inferred):
        found = f"MobileNet{inferred.upper()}" if inferred else f"{depthwise} depthwise convs"
        wanted = f"MobileNet{(family or 'V1/V2').upper()}"
        raise ModelError(f"{Path(path).name} is not a {wanted} graph (found {found})")
    stem = next(op for op in graph.operators if op.opcode == "CONV_2D")
    stem_channels = graph.tensor(stem.inputs[1]).shape[0]
    classes = graph.tensor(
        [op for op in graph.operators if op.opcode in _WEIGHTED_OPS][-1].inputs[1]
    ).shape[0]
    width = stem_channels / 32
    model: _MobileNet = (
        MobileNetV2(width, classes) if inferred == "v2" else MobileNetV1(width, classes)
    )
    load_tflite_weights(model, path)
    return model.eval()
