"""MesoNet-4 and MesoInception-4 (Afchar et al., WIFS 2018) in PyTorch, loaded from Keras weights.

A published peer detector, scored on the same face crops as our classifier. The architecture
follows the paper; the authors' released Keras ``.h5`` files (``save_weights`` format, Keras
2.1.5) are read with ``h5py`` by :mod:`train.peers.keras_h5`.

Keras -> PyTorch: conv kernels HWIO -> OIHW, dense kernels (in, out) -> (out, in), BatchNorm
epsilon 1e-3 (Keras' default; PyTorch's is 1e-5), and Keras' Flatten reads NHWC, so the last
feature map is permuted to NHWC before flattening. The network's sigmoid is p(real) (the
training folders were ``df`` and ``real``, class 1 = real); :class:`MesoNetPeer` returns
``p_fake = 1 - output``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.preprocess import InputContract, prepare_crops
from train.peers.keras_h5 import KERAS_BN_EPSILON, KerasH5Error, KerasWeights, read_keras_h5

INPUT_SIZE = 256
# Pixels in [0, 1], nothing subtracted: what MesoNet was trained on (ImageDataGenerator(1/255)).
MESONET_CONTRACT = InputContract(input_size=INPUT_SIZE, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


def _same_conv(c_in: int, c_out: int, k: int, dilation: int = 1) -> nn.Conv2d:
    # Stride 1, odd kernel: TF's "same" padding is symmetric, so PyTorch's padding matches it.
    return nn.Conv2d(c_in, c_out, k, padding=dilation * (k // 2), dilation=dilation)


def _pool(k: int) -> nn.MaxPool2d:
    # Keras MaxPooling2D(pool_size=k, padding="same"): stride k, partial windows kept at the end.
    return nn.MaxPool2d(k, stride=k, ceil_mode=True)


class _Head(nn.Module):
    """Flatten (NHWC, as Keras) -> Dropout -> Dense 16 -> LeakyReLU 0.1 -> Dropout -> Dense 1."""

    def __init__(self, leaky_relu: bool = True) -> None:
        super().__init__()
        self.drop1 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(8 * 8 * 16, 16)
        self.act = nn.LeakyReLU(0.1) if leaky_relu else nn.Identity()
        self.drop2 = nn.Dropout(0.5)
        self.fc2 = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1).flatten(1)
        x = self.act(self.fc1(self.drop1(x)))
        return torch.sigmoid(self.fc2(self.drop2(x))).squeeze(1)


class _ConvBlock(nn.Module):
    """Conv (ReLU) -> BatchNorm -> MaxPool, the order of the authors' code."""

    def __init__(self, c_in: int, c_out: int, k: int, pool: int) -> None:
        super().__init__()
        self.conv = _same_conv(c_in, c_out, k)
        self.bn = nn.BatchNorm2d(c_out, eps=KERAS_BN_EPSILON)
        self.pool = _pool(pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.bn(torch.relu(self.conv(x))))


class Meso4(nn.Module):
    """MesoNet-4: input (N, 3, 256, 256) RGB in [0, 1]; output (N,) sigmoid = p(real)."""

    def __init__(self, leaky_relu: bool = True) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            _ConvBlock(3, 8, 3, 2),
            _ConvBlock(8, 8, 5, 2),
            _ConvBlock(8, 16, 5, 2),
            _ConvBlock(16, 16, 5, 4),
        )
        self.head = _Head(leaky_relu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(x))


class _Inception(nn.Module):
    """Four branches: 1x1 | 1x1, 3x3 | 1x1, 3x3 dilation 2 | 1x1, 3x3 dilation 3; all ReLU."""

    def __init__(self, c_in: int, a: int, b: int, c: int, d: int) -> None:
        super().__init__()
        self.b1 = _same_conv(c_in, a, 1)
        self.b2 = nn.ModuleList([_same_conv(c_in, b, 1), _same_conv(b, b, 3)])
        self.b3 = nn.ModuleList([_same_conv(c_in, c, 1), _same_conv(c, c, 3, dilation=2)])
        self.b4 = nn.ModuleList([_same_conv(c_in, d, 1), _same_conv(d, d, 3, dilation=3)])

    def convs(self) -> list[nn.Conv2d]:
        """In the order Keras built (and numbered) them."""
        return [self.b1, *self.b2, *self.b3, *self.b4]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = [torch.relu(self.b1(x))]
        for first, second in (self.b2, self.b3, self.b4):
            out.append(torch.relu(second(torch.relu(first(x)))))
        return torch.cat(out, dim=1)


class MesoInception4(nn.Module):
    """MesoInception-4: two inception blocks, two conv blocks, the Meso4 head."""

    def __init__(self, leaky_relu: bool = True) -> None:
        super().__init__()
        self.inc1 = _Inception(3, 1, 4, 4, 2)
        self.bn1 = nn.BatchNorm2d(11, eps=KERAS_BN_EPSILON)
        self.inc2 = _Inception(11, 2, 4, 4, 2)
        self.bn2 = nn.BatchNorm2d(12, eps=KERAS_BN_EPSILON)
        self.pool = _pool(2)
        self.block3 = _ConvBlock(12, 16, 5, 2)
        self.block4 = _ConvBlock(16, 16, 5, 4)
        self.head = _Head(leaky_relu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.bn1(self.inc1(x)))
        x = self.pool(self.bn2(self.inc2(x)))
        return self.head(self.block4(self.block3(x)))


def _load_conv(conv: nn.Conv2d, kw: KerasWeights, layer: str) -> None:
    o, i, kh, kw_ = conv.weight.shape
    kernel = kw.get(layer, "kernel", (kh, kw_, i, o))
    conv.weight.data.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
    conv.bias.data.copy_(torch.from_numpy(kw.get(layer, "bias", (o,))))


def _load_bn(bn: nn.BatchNorm2d, kw: KerasWeights, layer: str) -> None:
    shape = (bn.num_features,)
    bn.weight.data.copy_(torch.from_numpy(kw.get(layer, "gamma", shape)))
    bn.bias.data.copy_(torch.from_numpy(kw.get(layer, "beta", shape)))
    bn.running_mean.copy_(torch.from_numpy(kw.get(layer, "moving_mean", shape)))
    bn.running_var.copy_(torch.from_numpy(kw.get(layer, "moving_variance", shape)))
    bn.eps = kw.bn_epsilon.get(layer, KERAS_BN_EPSILON)


def _load_dense(fc: nn.Linear, kw: KerasWeights, layer: str) -> None:
    kernel = kw.get(layer, "kernel", (fc.in_features, fc.out_features))
    fc.weight.data.copy_(torch.from_numpy(kernel.T.copy()))
    fc.bias.data.copy_(torch.from_numpy(kw.get(layer, "bias", (fc.out_features,))))


def _expect(kw: KerasWeights, prefix: str, count: int, arch: str) -> list[str]:
    names = kw.layers_of_kind(prefix)
    if len(names) != count:
        raise KerasH5Error(
            f"{kw.path}: {len(names)} {prefix} layers, a {arch} has {count}; not a {arch} file"
        )
    return names


def detect_architecture(kw: KerasWeights) -> str:
    """``"meso4"`` or ``"mesoinception4"`` from the number of conv layers in the file."""
    n_conv = len(kw.layers_of_kind("conv2d"))
    if n_conv == 4:
        return "meso4"
    if n_conv == 16:
        return "mesoinception4"
    raise KerasH5Error(
        f"{kw.path}: {n_conv} conv2d layers; neither a Meso-4 (4) nor a MesoInception-4 (16)"
    )


def load_mesonet(
    path: str | Path, leaky_relu: bool | None = None
) -> tuple[Meso4 | MesoInception4, KerasWeights]:
    """Build the network a MesoNet ``.h5`` describes and load its weights.

    Args:
        path: ``Meso4_*.h5`` or ``MesoInception_*.h5``.
        leaky_relu: LeakyReLU(0.1) after Dense 16. ``None`` follows the file: LeakyReLU when the
            file lists a ``leaky_re_lu`` layer. The authors' code has one in both networks, but
            the released ``Meso4_*.h5`` files list none (``save_weights`` records every layer,
            weightless ones included), so the Meso4 weights were saved from a net without it;
            the MesoInception files list it. For Meso4 on DFDC crops the choice moves the AUC
            by < 0.005.

    Returns:
        The network in eval mode and the raw weights it was loaded from.

    Raises:
        FileNotFoundError: no such file.
        KerasH5Error: not a MesoNet file (missing layers, wrong shapes).
    """
    kw = read_keras_h5(path)
    arch = detect_architecture(kw)
    if leaky_relu is None:
        leaky_relu = bool(kw.layers_of_kind("leaky_re_lu"))
    dense = _expect(kw, "dense", 2, arch)
    if arch == "meso4":
        convs = _expect(kw, "conv2d", 4, arch)
        bns = _expect(kw, "batch_normalization", 4, arch)
        model: Meso4 | MesoInception4 = Meso4(leaky_relu)
        for block, conv, bn in zip(model.blocks, convs, bns, strict=True):
            _load_conv(block.conv, kw, conv)
            _load_bn(block.bn, kw, bn)
    else:
        convs = _expect(kw, "conv2d", 16, arch)
        bns = _expect(kw, "batch_normalization", 4, arch)
        model = MesoInception4(leaky_relu)
        torch_convs = [
            *model.inc1.convs(),
            *model.inc2.convs(),
            model.block3.conv,
            model.block4.conv,
        ]
        for conv, name in zip(torch_convs, convs, strict=True):
            _load_conv(conv, kw, name)
        for bn, name in zip(
            [model.bn1, model.bn2, model.block3.bn, model.block4.bn], bns, strict=True
        ):
            _load_bn(bn, kw, name)
    _load_dense(model.head.fc1, kw, dense[0])
    _load_dense(model.head.fc2, kw, dense[1])
    return model.eval(), kw


@dataclass
class MesoNetPeer:
    """The MesoNet peer detector behind the evaluator's interface.

    Attributes:
        model: the loaded network (eval mode, CPU).
        name: a label for reports, e.g. ``"MesoNet-4 (DF)"``.
        batch_size: crops per forward pass.
    """

    model: nn.Module
    name: str = "MesoNet-4"
    batch_size: int = 32

    @classmethod
    def from_h5(
        cls, path: str | Path, batch_size: int = 32, leaky_relu: bool | None = None
    ) -> MesoNetPeer:
        """Load a peer from one of the authors' ``.h5`` files (Meso-4 or MesoInception-4).

        Raises:
            FileNotFoundError: no such file.
            KerasH5Error: the file is not a Meso-4 / MesoInception-4 weights file.
        """
        model, _ = load_mesonet(path, leaky_relu=leaky_relu)
        family = "MesoNet-4" if isinstance(model, Meso4) else "MesoInception-4"
        return cls(model=model, name=f"{family} ({Path(path).stem})", batch_size=batch_size)

    def preprocess(self, crops_bgr: Sequence[np.ndarray]) -> np.ndarray:
        """BGR uint8 crops of any size -> (N, 3, 256, 256) RGB float32 in [0, 1]."""
        return prepare_crops(crops_bgr, MESONET_CONTRACT)

    @torch.no_grad()
    def p_real(self, crops_bgr: Sequence[np.ndarray]) -> np.ndarray:
        """The network's own output, p(real), per crop."""
        out = np.empty(len(crops_bgr), dtype=np.float32)
        for start in range(0, len(crops_bgr), self.batch_size):
            batch = self.preprocess(crops_bgr[start : start + self.batch_size])
            out[start : start + len(batch)] = self.model(torch.from_numpy(batch)).numpy()
        return out

    def score(self, crops_bgr: Sequence[np.ndarray]) -> np.ndarray:
        """p_fake per crop (``1 - p_real``), float32 in [0, 1], in the order given.

        Args:
            crops_bgr: square BGR uint8 face crops at native resolution, as the canonical crop
                pipeline produces them; resized here to 256x256 (INTER_AREA down, LINEAR up).
        """
        return 1.0 - self.p_real(crops_bgr)
