"""Pretrained backbones by name: the TFLite MobileNets, any torchvision model, timm if present.

Weights always come from a file the user names (never downloaded): a .tflite file for the
MobileNets, a state dict for torchvision/timm (read with ``torch.load(weights_only=True)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.errors import ModelError, UsageError
from train.backbones.mobilenet import MobileNetV1, MobileNetV2, mobilenet_from_tflite

TFLITE_BACKBONES = ("mobilenet_v2_tflite", "mobilenet_v1_tflite")
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class BackboneInfo:
    """How to feed and read a backbone.

    Attributes:
        name: the name it was created from.
        source: ``"tflite"``, ``"torchvision"`` or ``"timm"``.
        weights: the weights file, None for random initialisation.
        num_features: channels of ``forward_features`` (maps) / of the pooled vector.
        mean: per-channel mean of RGB in [0, 1] to subtract.
        std: per-channel divisor after subtracting ``mean``.
        input_size: the (height, width) the weights were trained at, when known.
        module_output: what ``module(x)`` returns: ``"imagenet_logits"`` (TFLite MobileNets;
            use ``forward_features`` / ``features`` for features) or ``"pooled_features"``.
    """

    name: str
    source: str
    weights: Path | None
    num_features: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: tuple[int, int] | None
    module_output: str


def create_backbone(
    name: str, weights: str | Path | None, *, width: float | None = None
) -> tuple[nn.Module, BackboneInfo]:
    """Build a backbone by name and load its weights.

    Args:
        name: ``mobilenet_v2_tflite`` / ``mobilenet_v1_tflite`` (weights: a .tflite file), any
            torchvision classification model name (``resnet18``, ``mobilenet_v3_small``, ...) or
            a timm model name when timm is installed (weights: a state dict file).
        weights: the weights file; None gives random initialisation (a from-scratch baseline).
        width: MobileNet width when ``weights`` is None (V2: 1.0, V1: 0.25 by default); with
            a .tflite file the width is read from the file.

    Returns:
        ``(module, info)``. TFLite MobileNets keep their ImageNet classifier and expose
        ``features`` / ``forward_features`` / ``forward_head``; torchvision and timm models come
        without their classification head, ``module(x)`` giving pooled features.

    Raises:
        UsageError: unknown name, or the weights file is missing.
        ModelError: the weights file does not fit the named architecture.
    """
    path = Path(weights) if weights is not None else None
    if path is not None and not path.is_file():
        raise UsageError(f"weights file for backbone {name!r} not found: {path}")
    if name in TFLITE_BACKBONES:
        return _tflite_backbone(name, path, width)
    tv_names = _torchvision_names()
    if name in tv_names:
        return _torchvision_backbone(name, path)
    timm = _import_timm()
    if timm is not None and name in timm.list_models():
        return _timm_backbone(timm, name, path)
    hint = "" if timm is not None else " (timm is not installed)"
    raise UsageError(
        f"unknown backbone {name!r}{hint}: use one of {', '.join(TFLITE_BACKBONES)}, "
        "a torchvision model name (e.g. resnet18) or a timm model name"
    )


def list_backbones() -> list[str]:
    """TFLite MobileNets and torchvision classification models (timm's are not listed)."""
    return [*TFLITE_BACKBONES, *sorted(_torchvision_names())]


def _tflite_backbone(
    name: str, path: Path | None, width: float | None
) -> tuple[nn.Module, BackboneInfo]:
    family = "v2" if name == "mobilenet_v2_tflite" else "v1"
    input_size = None
    if path is None:
        model = MobileNetV2(width or 1.0) if family == "v2" else MobileNetV1(width or 0.25)
    else:
        if path.suffix.lower() != ".tflite":
            raise UsageError(f"backbone {name!r} needs a .tflite weights file, got {path.name}")
        model = mobilenet_from_tflite(path, family)
        if width is not None and width != model.width:
            raise ModelError(f"{path.name} is a width-{model.width} MobileNet, not {width}")
        from train.backbones.tflite_reader import read_tflite

        graph = read_tflite(path)
        shape = graph.tensor(graph.inputs[0]).shape
        input_size = (shape[1], shape[2])
    info = BackboneInfo(
        name=name,
        source="tflite",
        weights=path,
        num_features=model.num_features,
        mean=(0.5, 0.5, 0.5),  # (x/255 - 0.5) / 0.5 == (x - 127.5) / 127.5
        std=(0.5, 0.5, 0.5),
        input_size=input_size,
        module_output="imagenet_logits",
    )
    return model, info


class HeadlessBackbone(nn.Module):
    """A torchvision classifier whose last Linear layer is replaced by the identity.

    ``forward(x)`` and ``forward_features(x)`` both return the pooled (N, num_features) vector.
    """

    def __init__(self, model: nn.Module, num_features: int) -> None:
        super().__init__()
        self.model = model
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        # Inception/GoogLeNet return named tuples in training mode (auxiliary heads).
        return out[0] if isinstance(out, tuple) else out

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (N, num_features)."""
        return self.forward(x)


def _torchvision_names() -> set[str]:
    import torchvision.models as tvm

    return set(tvm.list_models(module=tvm))


def _torchvision_backbone(name: str, path: Path | None) -> tuple[nn.Module, BackboneInfo]:
    import torchvision.models as tvm

    model = tvm.get_model(name, weights=None)
    head_name, head = _last_linear(model, name)
    if path is not None:
        _load_state_dict(model, _read_state_dict(path), name, path, head_prefix=head_name)
    _replace_module(model, head_name, nn.Identity())
    info = BackboneInfo(
        name=name,
        source="torchvision",
        weights=path,
        num_features=head.in_features,
        mean=_IMAGENET_MEAN,
        std=_IMAGENET_STD,
        input_size=None,
        module_output="pooled_features",
    )
    return HeadlessBackbone(model, head.in_features), info


def _import_timm() -> Any:
    try:
        import timm
    except ImportError:
        return None
    return timm


def _timm_backbone(timm: Any, name: str, path: Path | None) -> tuple[nn.Module, BackboneInfo]:
    model = timm.create_model(name, pretrained=False)
    if path is not None:
        head = model.get_classifier()
        head_name = next((n for n, m in model.named_modules() if m is head and n), None)
        _load_state_dict(model, _read_state_dict(path), name, path, head_prefix=head_name)
    model.reset_classifier(0)
    cfg = getattr(model, "pretrained_cfg", None) or {}
    size = cfg.get("input_size")
    info = BackboneInfo(
        name=name,
        source="timm",
        weights=path,
        num_features=int(model.num_features),
        mean=tuple(cfg.get("mean", _IMAGENET_MEAN)),
        std=tuple(cfg.get("std", _IMAGENET_STD)),
        input_size=(size[1], size[2]) if size else None,
        module_output="pooled_features",
    )
    return model, info


def _last_linear(model: nn.Module, name: str) -> tuple[str, nn.Linear]:
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise UsageError(f"torchvision model {name!r} has no Linear classification head")
    return linears[-1]


def _replace_module(model: nn.Module, dotted: str, new: nn.Module) -> None:
    parent_name, _, child = dotted.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle/zip errors come in many types
        raise ModelError(f"cannot read {path} as a PyTorch state dict: {exc}") from exc
    for key in ("state_dict", "model"):  # common checkpoint wrappers
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path} does not hold a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _load_state_dict(
    model: nn.Module,
    state: dict[str, torch.Tensor],
    name: str,
    path: Path,
    head_prefix: str | None,
) -> None:
    """Strict load of everything but the classification head (dropped: any class count goes)."""
    head = f"{head_prefix}." if head_prefix else None

    def body(keys: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v for k, v in keys.items() if not (head and k.startswith(head))}

    expected, state = body(model.state_dict()), body(state)
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected),
                            ("shape mismatch", mismatched)):  # fmt: skip
            if keys:
                shown = ", ".join(keys[:3]) + (f" (+{len(keys) - 3} more)" if len(keys) > 3 else "")
                parts.append(f"{len(keys)} {label}: {shown}")
        raise ModelError(
            f"weights file {path.name} does not fit backbone {name!r}: " + "; ".join(parts)
        )
    model.load_state_dict(state, strict=False)
