"""The main classifier: a narrow residual CNN on the face crop + an MLP on the 1D spectrum.

The spectrum is computed outside the network (TensorRT cannot run DFT), so the graph holds only
Conv/BatchNorm/Relu/Add/ReduceMean/Gemm/Sigmoid/Mul/Sub/Concat, all of which TensorRT and every
ONNX Runtime provider run. Spatial features are pooled at several depths (as in
GANFingerprint-style detectors: shallow layers keep the high-frequency texture cues) and fused
with the spectral embedding by a learned per-channel gate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from train.models.catalog import register_model


@dataclass(frozen=True)
class SpatialSpectralConfig:
    """Hyper-parameters of :class:`SpatialSpectralNet`.

    Attributes:
        widths: channels of the four residual stages.
        blocks: residual blocks per stage.
        stem_stride: stride of the first convolution (1 keeps the finest texture, 2 is cheaper).
        stage0_stride: stride of the first residual stage (later stages always use 2). The
            default 2+2 puts the first stage at 1/4 resolution: 2.5x cheaper than 1/2 for a
            measured small loss
            (docs/experiments/2026-11-25-v1-first-model.md).
        pooled_stages: how many of the last stages are pooled and concatenated.
        embed_dim: width of each branch's embedding and of the fused vector.
        spectrum_bins: length of the spectrum input (must equal the contract's spectrum_bins).
        spectral_hidden: hidden width of the spectral MLP.
        dropout: dropout before the final linear layer.
        spectral_dropout: probability, per training sample, of zeroing the spectral embedding so
            the network cannot lean on the spectrum alone (it shifts with resolution and codec).
    """

    widths: tuple[int, int, int, int] = (16, 32, 64, 128)
    blocks: tuple[int, int, int, int] = (1, 1, 1, 1)
    stem_stride: int = 2
    stage0_stride: int = 2
    pooled_stages: int = 3
    embed_dim: int = 96
    spectrum_bins: int = 80
    spectral_hidden: int = 64
    dropout: float = 0.2
    spectral_dropout: float = 0.2


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convs) with a 1x1 projection when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


class SpatialBranch(nn.Module):
    """Narrow ResNet; returns globally pooled features of the last ``pooled_stages`` stages."""

    def __init__(self, cfg: SpatialSpectralConfig) -> None:
        super().__init__()
        w = cfg.widths
        self.stem = nn.Sequential(
            nn.Conv2d(3, w[0], 3, cfg.stem_stride, 1, bias=False),
            nn.BatchNorm2d(w[0]),
            nn.ReLU(inplace=True),
        )
        stages = []
        cin = w[0]
        for i, (cout, n) in enumerate(zip(w, cfg.blocks, strict=True)):
            layers = [BasicBlock(cin, cout, 2 if i > 0 else cfg.stage0_stride)]
            layers += [BasicBlock(cout, cout, 1) for _ in range(n - 1)]
            stages.append(nn.Sequential(*layers))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.pooled = cfg.pooled_stages
        self.out_dim = sum(w[-cfg.pooled_stages :])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        pooled = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i >= len(self.stages) - self.pooled:
                pooled.append(x.mean(dim=(2, 3)))
        return torch.cat(pooled, dim=1)


class SpatialSpectralNet(nn.Module):
    """Two-input classifier: ``forward(crops (N,3,S,S), spectrum (N,bins)) -> logit (N,1)``.

    The spectrum is standardised inside the network with buffers that training fills from the
    training set (:meth:`set_spectrum_stats`), so exporters and runtimes feed it raw.
    """

    def __init__(self, cfg: SpatialSpectralConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.embed_dim
        self.spatial = SpatialBranch(cfg)
        self.spatial_proj = nn.Sequential(nn.Linear(self.spatial.out_dim, d), nn.ReLU(inplace=True))
        self.register_buffer("spec_mean", torch.zeros(cfg.spectrum_bins))
        self.register_buffer("spec_std", torch.ones(cfg.spectrum_bins))
        self.spectral = nn.Sequential(
            nn.Linear(cfg.spectrum_bins, cfg.spectral_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(cfg.spectral_hidden, d),
            nn.ReLU(inplace=True),
        )
        self.gate = nn.Linear(2 * d, d)
        self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(d, 1))

    @torch.no_grad()
    def set_spectrum_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the training-set mean/std of each spectrum bin (std floored to avoid /0)."""
        self.spec_mean.copy_(mean.to(self.spec_mean))
        self.spec_std.copy_(std.clamp_min(1e-6).to(self.spec_std))

    def forward(self, crops: torch.Tensor, spectrum: torch.Tensor) -> torch.Tensor:
        s = self.spatial_proj(self.spatial(crops))
        f = self.spectral((spectrum - self.spec_mean) / self.spec_std)
        if self.training and self.cfg.spectral_dropout > 0:
            keep = (torch.rand(f.shape[0], 1, device=f.device) >= self.cfg.spectral_dropout)
            f = f * keep.to(f.dtype)
        g = torch.sigmoid(self.gate(torch.cat([s, f], dim=1)))
        fused = g * s + (1.0 - g) * f
        return self.head(fused)


@register_model("spatial_spectral", SpatialSpectralConfig)
def spatial_spectral(cfg: SpatialSpectralConfig) -> SpatialSpectralNet:
    """Default width (16-32-64-128): about 0.5 M parameters."""
    return SpatialSpectralNet(cfg)


@register_model(
    "spatial_spectral_tiny", SpatialSpectralConfig, widths=(8, 16, 32, 64), embed_dim=64
)
def spatial_spectral_tiny(cfg: SpatialSpectralConfig) -> SpatialSpectralNet:
    """Half width, for the smallest edge boxes."""
    return SpatialSpectralNet(cfg)


@register_model(
    "spatial_spectral_wide", SpatialSpectralConfig, widths=(32, 64, 128, 256), embed_dim=128
)
def spatial_spectral_wide(cfg: SpatialSpectralConfig) -> SpatialSpectralNet:
    """Double width: about 4x the compute of the default."""
    return SpatialSpectralNet(cfg)
