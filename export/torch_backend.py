"""PyTorch reference backend (training extra): the checkpoint itself, on CPU or CUDA.

Lives outside ``engine`` because it imports torch; :func:`engine.backends.load_backend` loads it
by name ("torch", "torch-cpu", "torch-cuda") only when asked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.backends.base import Backend
from engine.errors import BackendUnavailable


class TorchBackend(Backend):
    """Classifier checkpoint run by PyTorch in eval mode, no autograd.

    Args:
        checkpoint: a deepscreen training checkpoint (``.pt``).
        device: "cpu" or "cuda".
        threads: torch intra-op threads (0 keeps torch's default).
    """

    def __init__(self, checkpoint: Path, device: str = "cpu", threads: int = 0) -> None:
        import torch

        from train.checkpoint import build_model_from_checkpoint

        checkpoint = Path(checkpoint)
        if checkpoint.suffix == ".onnx":
            raise BackendUnavailable(
                f"the torch backend runs a training checkpoint (.pt), not {checkpoint.name}"
            )
        if device == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailable("torch-cuda: PyTorch sees no CUDA device here")
        if threads:
            torch.set_num_threads(threads)
        model, contract = build_model_from_checkpoint(checkpoint)
        self.model = model.to(device).eval()
        self.device = device
        self.contract = contract
        self.name = f"torch-{device}"
        self._torch = torch

    def _predict_logits(self, crops: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self.model(
                torch.from_numpy(crops).to(self.device),
                torch.from_numpy(spectrum).to(self.device),
            )
        return out.float().cpu().numpy().reshape(-1)
