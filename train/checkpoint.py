"""Checkpoint format shared by training, evaluation, Grad-CAM and the ONNX exporter.

A checkpoint is a dict of tensors and primitives only, so ``torch.load(path, weights_only=True)``
reads it (no pickled classes, no code execution):

=================  =====================================================================
key                value
=================  =====================================================================
format             ``"deepscreen.checkpoint/1"``
model_name         registry name (``train.models.list_models()``)
model_config       dict of the model's config dataclass (lists for tuples)
contract           dict of :class:`engine.preprocess.InputContract` (lists for tuples)
threshold          float, decision threshold on p_fake chosen on validation (also in contract)
metrics            dict[str, float] of validation metrics at this epoch
state_dict         the model's ``state_dict()`` (float tensors)
epoch              int, last finished epoch (0-based)
train_state        only in resumable "last" checkpoints: optimizer/scheduler state, best AUC,
                   epochs without improvement; absent from shipped/best checkpoints
=================  =====================================================================
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from engine.errors import ModelError
from engine.preprocess import InputContract

FORMAT = "deepscreen.checkpoint/1"


def contract_to_dict(contract: InputContract) -> dict[str, Any]:
    """InputContract -> dict of primitives."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(contract).items()}


def contract_from_dict(data: dict[str, Any]) -> InputContract:
    """dict (as stored in a checkpoint) -> InputContract; unknown keys are ignored."""
    known = InputContract.__dataclass_fields__
    return InputContract(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
    )


def save_checkpoint(
    path: str | Path,
    model: Any,
    model_name: str,
    model_config: dict[str, Any],
    contract: InputContract,
    metrics: dict[str, float] | None = None,
    epoch: int = 0,
    train_state: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint (atomically: a crash never leaves a half-written file).

    Args:
        path: destination ``.pt`` file.
        model: the ``nn.Module`` whose ``state_dict`` is saved.
        model_name: registry name.
        model_config: config dict (see :func:`train.models.config_to_dict`).
        contract: input contract, including the validation threshold.
        metrics: validation metrics (floats).
        epoch: last finished epoch.
        train_state: optimizer/scheduler state for resuming (tensors and primitives only).
    """
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "format": FORMAT,
        "model_name": model_name,
        "model_config": dict(model_config),
        "contract": contract_to_dict(contract),
        "threshold": float(contract.threshold),
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "epoch": int(epoch),
    }
    if train_state is not None:
        payload["train_state"] = train_state
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint dict with ``weights_only=True``.

    Raises:
        ModelError: missing file, unreadable file or not a deepscreen checkpoint.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"checkpoint not found: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        raise ModelError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelError(f"{path} is not a deepscreen checkpoint (expected format {FORMAT})")
    return data


def build_model_from_checkpoint(path: str | Path) -> tuple[Any, InputContract]:
    """Rebuild the model of a checkpoint in eval mode, with its input contract.

    Returns:
        (model, contract); the contract's ``threshold`` is the validation threshold.
    """
    from train.models import create_model

    data = load_checkpoint(path)
    model = create_model(data["model_name"], data["model_config"])
    try:
        model.load_state_dict(data["state_dict"])
    except RuntimeError as exc:
        raise ModelError(f"weights in {path} do not fit {data['model_name']}: {exc}") from exc
    model.eval()
    contract = replace(contract_from_dict(data["contract"]), threshold=float(data["threshold"]))
    return model, contract


def load_user_weights(model: Any, path: str | Path) -> list[str]:
    """Initialise ``model`` from a user-given weights file (checkpoint or bare state_dict).

    Only tensors whose name and shape match are copied (so e.g. a backbone trained elsewhere can
    seed the spatial branch). Returns the names that were loaded.

    Raises:
        ModelError: unreadable file or nothing matched.
    """
    import torch

    try:
        data = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"cannot read weights {path}: {exc}") from exc
    state = data.get("state_dict", data) if isinstance(data, dict) else {}
    own = model.state_dict()
    matched = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not matched:
        raise ModelError(f"no tensor in {path} matches the model's parameter names and shapes")
    own.update(matched)
    model.load_state_dict(own)
    return sorted(matched)
