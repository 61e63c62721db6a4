"""``logit_ensemble``: the eager PyTorch twin of an ``export ensemble`` ONNX (mean member logit).

The merged ONNX records its members' architectures in its metadata
(``deepscreen.model_config = {"members": [{"model_name": ..., "model_config": ...}, ...]}``),
so tools that rebuild the eager network from an ONNX file (the benchmark's PyTorch baseline,
:mod:`bench.torch_model`) build the same two-or-more networks the shipped graph computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from train.models.catalog import create_model, register_model


@dataclass(frozen=True)
class LogitEnsembleConfig:
    """Members of the ensemble.

    Attributes:
        members: one mapping per member with ``model_name`` and ``model_config`` (other keys,
            such as the ONNX's ``file``/``sha256``/``threshold`` provenance, are ignored).
            The default, two ``spatial_spectral_tiny`` networks, only makes the catalog
            entry buildable on its own (tests, benchmarks); real ensembles name their members.
        spectrum_bins: the contract's spectrum length, given to members that do not name one.
    """

    members: tuple[Any, ...] = (
        {"model_name": "spatial_spectral_tiny", "model_config": {}},
        {"model_name": "spatial_spectral_tiny", "model_config": {}},
    )
    spectrum_bins: int = 80


class LogitEnsemble(nn.Module):
    """Mean logit of its member networks; every member sees the same inputs."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least two members, got {len(members)}")
        self.members = nn.ModuleList(members)

    def forward(self, crops: torch.Tensor, spectrum: torch.Tensor) -> torch.Tensor:
        """(N, 1) mean of the members' logits."""
        return torch.stack([m(crops, spectrum) for m in self.members]).mean(dim=0)


@register_model("logit_ensemble", LogitEnsembleConfig)
def logit_ensemble(cfg: LogitEnsembleConfig) -> LogitEnsemble:
    """Build every member from the catalog with its own config."""
    members = []
    for spec in cfg.members:
        config = dict(spec.get("model_config") or {})
        config.setdefault("spectrum_bins", cfg.spectrum_bins)
        members.append(create_model(spec["model_name"], config))
    return LogitEnsemble(members)
