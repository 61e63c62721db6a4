"""Detector v2: an ImageNet-pretrained MobileNetV2 trunk, cut and fine-tuned, + the spectrum MLP.

The trunk is split in three parts so that training fits a 2-core CPU:

- ``stem`` = ``features[:frozen+1]`` (through ``expanded_conv_5`` by default: 1/8 resolution,
  32 channels). It stays frozen at its ImageNet weights, so its output can be computed once per
  augmented view and cached (:mod:`train.view_cache`); training never runs it.
- ``body`` = the blocks after it, up to ``last`` (``expanded_conv_13`` by default: the first
  block of the 1/32 stage, 160 channels at 7x7 for a 224 px crop). Fine-tuned from ImageNet.
  The rest of that stage (``expanded_conv_14`` .. ``_16``, 1.15 M parameters) is dropped by
  default: keeping them (``last: expanded_conv_16``, or ``mobilenet_detector_deep``; v17)
  changed no test figure beyond run-to-run variation
  (docs/experiments/2026-12-01-v17-whole-trunk.md), though at 7x7 they cost little (a training step
  1.10 -> 1.15 s per batch of 64 here).
- ``neck`` (1x1 conv + BN + ReLU) and global pooling, concatenated with the spectral MLP of
  :mod:`train.models.spatial_spectral`'s kind, then a linear logit.

``forward(crops, spectrum)`` is the exported graph (two inputs, one logit, as every classifier
of the runtime); :meth:`forward_cached` is what training calls on cached stem outputs.
Pretrained weights are loaded by :meth:`load_backbone` (training), never by the constructor:
a checkpoint holds every tensor and rebuilds without the TFLite file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from engine.errors import ModelError, UsageError
from train.backbones.mobilenet import MobileNetV2, load_tflite_weights
from train.models.catalog import register_model


@dataclass(frozen=True)
class MobileNetDetectorConfig:
    """Hyper-parameters of :class:`MobileNetDetector`.

    Attributes:
        pretrained: the TFLite file the trunk was initialised from (provenance; None = scratch).
        frozen: last block of the frozen, cached stem (a MobileNetV2 block name).
        last: last block of the trunk that is kept (deeper blocks are dropped).
        neck_channels: width of the 1x1 conv after the trunk.
        spectrum_bins: length of the spectrum input (the contract's spectrum_bins).
        spectral_hidden: width of the spectral MLP; 0 drops the branch (input then unused).
        dropout: dropout before the final linear layer.
        flip_tta: in eval mode (and so in the exported graph), average the logits of each crop
            and its mirror image. Measured on the 224 px model's validation split: AUC
            0.922 -> 0.933 (docs/experiments/2026-11-30-v3-flip-tta-and-six-views.md);
            it nearly doubles the classifier's cost per crop.
    """

    pretrained: str | None = None
    frozen: str = "expanded_conv_5"
    last: str = "expanded_conv_13"
    neck_channels: int = 256
    spectrum_bins: int = 80
    spectral_hidden: int = 32
    dropout: float = 0.2
    flip_tta: bool = False


class MobileNetDetector(nn.Module):
    """Two-input classifier: ``forward(crops (N,3,S,S), spectrum (N,bins)) -> logit (N,1)``."""

    def __init__(self, cfg: MobileNetDetectorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        trunk = MobileNetV2()
        names = trunk.block_names
        for key in ("frozen", "last"):
            if getattr(cfg, key) not in names:
                raise UsageError(f"{key}={getattr(cfg, key)!r} is not a MobileNetV2 block: {names}")
        k, last = names.index(cfg.frozen) + 1, names.index(cfg.last) + 1
        if not 0 < k < last:
            raise UsageError(f"frozen block {cfg.frozen} must come before last block {cfg.last}")
        self.stem = trunk.features[:k]
        self.body = trunk.features[k:last]
        for p in self.stem.parameters():
            p.requires_grad_(False)
        channels = _out_channels(self.body)
        self.neck = nn.Sequential(
            nn.Conv2d(channels, cfg.neck_channels, 1, bias=False),
            nn.BatchNorm2d(cfg.neck_channels),
            nn.ReLU(inplace=True),
        )
        self.register_buffer("spec_mean", torch.zeros(cfg.spectrum_bins))
        self.register_buffer("spec_std", torch.ones(cfg.spectrum_bins))
        self.spectral = None
        if cfg.spectral_hidden > 0:
            self.spectral = nn.Sequential(
                nn.Linear(cfg.spectrum_bins, cfg.spectral_hidden),
                nn.ReLU(inplace=True),
                nn.Linear(cfg.spectral_hidden, cfg.spectral_hidden),
                nn.ReLU(inplace=True),
            )
        self.classifier = nn.Sequential(
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.neck_channels + max(cfg.spectral_hidden, 0), 1),
        )

    def train(self, mode: bool = True) -> MobileNetDetector:
        """Train mode everywhere but the frozen stem (it has no BN or dropout, but stay exact)."""
        super().train(mode)
        self.stem.eval()
        return self

    def load_backbone(self, path: str | Path) -> int:
        """Copy ImageNet weights into stem and body from a MobileNetV2 TFLite file, or from
        the ``.pt`` trunk state dict that :func:`save_trunk` made of one (what the device
        pack ships: that machine has no ``tflite`` package).

        Returns:
            The number of tensors copied.

        Raises:
            ModelError: a ``.pt`` file that is not a MobileNetV2 trunk's state dict.
        """
        trunk = MobileNetV2()
        if Path(path).suffix == ".pt":
            state = torch.load(Path(path), map_location="cpu", weights_only=True)
            try:
                trunk.load_state_dict(state)
            except (RuntimeError, TypeError, AttributeError) as exc:
                raise ModelError(f"{path} is not a MobileNetV2 trunk state dict: {exc}") from exc
        else:
            load_tflite_weights(trunk, path)
        full = trunk.features.state_dict()
        copied = 0
        for part in (self.stem, self.body):
            own = part.state_dict()
            own.update({k: full[k] for k in own})
            part.load_state_dict(own)
            copied += len(own)
        return copied

    def set_spectrum_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the training-set mean/std of each spectrum bin (std floored to avoid /0)."""
        self.spec_mean.copy_(mean)
        self.spec_std.copy_(std.clamp_min(1e-3))

    def stem_features(self, crops: torch.Tensor) -> torch.Tensor:
        """The frozen stem's output (what :mod:`train.view_cache` stores)."""
        return self.stem(crops)

    def forward_cached(self, stem_out: torch.Tensor, spectrum: torch.Tensor) -> torch.Tensor:
        """Logit from a cached stem output and the raw spectrum."""
        f = self.neck(self.body(stem_out)).mean(dim=(2, 3))
        if self.spectral is not None:
            s = self.spectral((spectrum - self.spec_mean) / self.spec_std)
            f = torch.cat([f, s], dim=1)
        return self.classifier(f)

    def forward(self, crops: torch.Tensor, spectrum: torch.Tensor) -> torch.Tensor:
        """Logit (N, 1) of normalised crops and their native-resolution spectra.

        With ``flip_tta`` and in eval mode: the mean logit of each crop and its mirror image
        (one batch of 2N through the network). The radial spectrum does not change under a
        horizontal flip, so both halves use the crop's own.
        """
        if self.cfg.flip_tta and not self.training:
            n = crops.shape[0]
            both = torch.cat([crops, torch.flip(crops, dims=[3])], dim=0)
            logits = self.forward_cached(self.stem(both), torch.cat([spectrum, spectrum], dim=0))
            return (logits[:n] + logits[n:]) * 0.5
        return self.forward_cached(self.stem(crops), spectrum)


def save_trunk(tflite_path: str | Path, out: str | Path) -> Path:
    """Dequantize a MobileNetV2 TFLite file into a torch state dict (``load_backbone`` reads it)."""
    trunk = MobileNetV2()
    load_tflite_weights(trunk, tflite_path)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(trunk.state_dict(), out)
    return out


def _out_channels(blocks: nn.Sequential) -> int:
    """Output channels of the last convolution in ``blocks``."""
    convs = [m for m in blocks.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1].out_channels


@register_model("mobilenet_detector", MobileNetDetectorConfig)
def mobilenet_detector(cfg: MobileNetDetectorConfig) -> MobileNetDetector:
    """MobileNetV2 trunk through ``expanded_conv_13``, stem frozen, spectral branch on."""
    return MobileNetDetector(cfg)


@register_model("mobilenet_detector_deep", MobileNetDetectorConfig, last="expanded_conv_16")
def mobilenet_detector_deep(cfg: MobileNetDetectorConfig) -> MobileNetDetector:
    """The whole trunk through ``expanded_conv_16`` (320 channels at 1/32), 1.88 M parameters."""
    return MobileNetDetector(cfg)
