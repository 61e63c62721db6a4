"""The PyTorch eager classifier used by the baseline and by the ``torch`` benchmark row.

This module chooses and builds the network; :class:`export.torch_backend.TorchBackend` (the
same backend the engine opens by name) runs it for the ``torch`` row.

Which network: with a checkpoint, exactly the checkpoint's model and weights
(:func:`train.checkpoint.build_model_from_checkpoint`). Without one, the architecture named in
the ONNX model's metadata (``deepscreen.model_name`` / ``deepscreen.model_config``) when the
exporter wrote them; else the registered model whose multiply-accumulates per crop equal the
ONNX graph's (counted by :mod:`bench.flops`, a fingerprint of the layer shapes);
else the model catalog's ``spatial_spectral``. Its weights are then PyTorch's default
initialisation: weights do not change the arithmetic of an eager forward pass, so its speed is
the trained model's speed; its outputs are meaningless and are never compared with anything.

torch and ``train`` are imported inside the functions: importing this module stays torch-free.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import BackendUnavailable
from engine.preprocess import InputContract

DEFAULT_MODEL_NAME = "spatial_spectral"


@dataclass(frozen=True)
class TorchModelSpec:
    """How the eager model was obtained (written into the results)."""

    model_name: str
    config: dict[str, Any]
    weights: str  # checkpoint path, or "default init (no checkpoint)"
    how: str = ""  # how the architecture was chosen


def torch_macs(module: Any, *inputs: Any) -> int:
    """MACs of the module's Conv2d and Linear layers for these inputs (forward hooks)."""
    import torch

    total = 0

    def hook(m, _inp, out) -> None:
        nonlocal total
        if isinstance(m, torch.nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1]
            total += out.numel() * (m.in_channels // m.groups) * k
        elif isinstance(m, torch.nn.Linear):
            total += out.numel() * m.in_features

    handles = [m.register_forward_hook(hook) for m in module.modules()]
    try:
        with torch.no_grad():
            module(*inputs)
    finally:
        for h in handles:
            h.remove()
    return total


def match_architecture(onnx_path: str | os.PathLike[str], contract: InputContract) -> str | None:
    """The registered model whose MACs per crop equal the ONNX graph's, or None."""
    import torch

    from bench.flops import count_macs
    from train.models import create_model, list_models

    target = count_macs(onnx_path).total_macs
    s = contract.input_size
    x, f = torch.zeros(1, 3, s, s), torch.ones(1, contract.spectrum_bins)
    for name in list_models():
        try:
            model = create_model(name, {"spectrum_bins": contract.spectrum_bins}).eval()
        except Exception:  # a registry entry without that config key is simply not a match
            continue
        if torch_macs(model, x, f) == target:
            return name
    return None


def onnx_architecture(onnx_path: str | os.PathLike[str] | None) -> tuple[str, dict, InputContract]:
    """Model name, config overrides and input contract recorded in an ONNX model's metadata."""
    if onnx_path is None or not Path(onnx_path).is_file():
        return DEFAULT_MODEL_NAME, {}, InputContract()
    # Read with onnx, not ONNX Runtime: the baseline's process must not start ORT's threads.
    import onnx

    proto = onnx.load(os.fspath(onnx_path), load_external_data=False)
    meta = {p.key: p.value for p in proto.metadata_props}
    name = meta.get("deepscreen.model_name", DEFAULT_MODEL_NAME)
    try:
        name = json.loads(name)
    except (TypeError, json.JSONDecodeError):
        pass
    try:
        config = json.loads(meta.get("deepscreen.model_config", "{}"))
    except json.JSONDecodeError:
        config = {}
    return str(name), dict(config), InputContract.from_metadata(meta)


def build_torch_model(
    checkpoint: str | os.PathLike[str] | None, onnx_path: str | os.PathLike[str] | None
) -> tuple[Any, InputContract, TorchModelSpec]:
    """Build the eager ``nn.Module`` (eval mode, CPU) and its contract.

    Raises:
        BackendUnavailable: torch or the training package is not installed.
    """
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise BackendUnavailable(
            "the PyTorch baseline needs torch (pip install -e '.[train]')"
        ) from exc
    if checkpoint is not None:
        from train.checkpoint import build_model_from_checkpoint, load_checkpoint

        model, contract = build_model_from_checkpoint(checkpoint)
        data = load_checkpoint(checkpoint)
        spec = TorchModelSpec(data["model_name"], dict(data["model_config"]), str(checkpoint),
                              "from the checkpoint")
        return model, contract, spec
    from train.models import create_model

    name, config, contract = onnx_architecture(onnx_path)
    how = "named in the ONNX metadata"
    if onnx_path is not None and Path(onnx_path).is_file() and not _names_model(onnx_path):
        matched = match_architecture(onnx_path, contract)
        how = ("registered model with the ONNX graph's MACs per crop" if matched else
               f"not identified (no registered model has the ONNX's MACs): {DEFAULT_MODEL_NAME}")
        name = matched or DEFAULT_MODEL_NAME
    elif onnx_path is None or not Path(onnx_path).is_file():
        how = "no model file: registry default"
    if "spectrum_bins" not in config:
        config["spectrum_bins"] = contract.spectrum_bins
    model = create_model(name, config).eval()
    return model, contract, TorchModelSpec(name, config, "default init (no checkpoint)", how)


def _names_model(onnx_path: str | os.PathLike[str]) -> bool:
    import onnx

    proto = onnx.load(os.fspath(onnx_path), load_external_data=False)
    return any(p.key == "deepscreen.model_name" for p in proto.metadata_props)
