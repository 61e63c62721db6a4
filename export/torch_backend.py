"""The PyTorch backend (training extra): a classifier network run eagerly, on CPU or CUDA.

One backend for both of its users: the engine's factory opens a training checkpoint by name
("torch", "torch-cpu", "torch-cuda", through the ``deepscreen.backends`` entry point, so the
runtime never imports it), and the benchmark wraps the network it built
(:func:`bench.torch_model.build_torch_model`) for its ``torch`` row, with FP16 and CUDA graphs
on a GPU. Lives outside ``engine`` because it imports torch (inside the functions: importing
this module stays torch-free).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from engine.backends.base import Backend
from engine.errors import BackendUnavailable
from engine.preprocess import InputContract


class TorchBackend(Backend):
    """A :class:`Backend` over an eval-mode network: CPU FP32, or CUDA FP16 with CUDA graphs.

    Args:
        model: the network, ``forward(crops, spectrum) -> logit`` (``contract`` then required),
            or a deepscreen training checkpoint (``.pt``) whose network and contract are rebuilt
            (how the engine's factory opens it by name).
        contract: the network's input contract; read from the checkpoint when one is given.
        device: "cpu" or "cuda".
        half: run in FP16 (CUDA only; inputs are cast on the device).
        cuda_graphs: capture one CUDA graph per power-of-two batch bucket and replay it (CUDA
            only; a batch of n runs in the graph of the next power of two, padded); removes the
            per-layer launch overhead that dominates a small CNN at small batches.
        threads: torch intra-op threads (0 keeps torch's default).

    Raises:
        BackendUnavailable: an ONNX file instead of a checkpoint, no CUDA device for "cuda",
            or FP16 / CUDA graphs asked on the CPU.
    """

    def __init__(
        self,
        model: Any,
        contract: InputContract | None = None,
        device: str = "cpu",
        half: bool = False,
        cuda_graphs: bool = False,
        threads: int = 0,
    ) -> None:
        import torch

        checkpoint = Path(model) if isinstance(model, (str, os.PathLike)) else None
        if checkpoint is not None and checkpoint.suffix == ".onnx":
            raise BackendUnavailable(
                f"the torch backend runs a training checkpoint (.pt), not {checkpoint.name}"
            )
        if device == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailable("torch-cuda: PyTorch sees no CUDA device on this machine")
        if device == "cpu" and (half or cuda_graphs):
            raise BackendUnavailable("FP16 and CUDA graphs need --device cuda")
        if threads:
            torch.set_num_threads(threads)
        if checkpoint is not None:
            from train.checkpoint import build_model_from_checkpoint

            model, contract = build_model_from_checkpoint(checkpoint)
        if contract is None:
            raise TypeError("TorchBackend over a network needs its InputContract")
        self.contract = contract
        self.device = torch.device(device)
        self.dtype = torch.float16 if half else torch.float32
        self.model = model.to(self.device, self.dtype).eval()
        self.cuda_graphs = cuda_graphs
        self._graphs: dict[int, tuple[Any, Any, Any, Any]] = {}
        self.name = (
            f"torch-{device}" + ("-fp16" if half else "") + ("-graphs" if cuda_graphs else "")
        )

    def _capture(self, n: int):
        import torch

        s = self.contract.input_size
        x = torch.zeros((n, 3, s, s), device=self.device, dtype=self.dtype)
        f = torch.zeros((n, self.contract.spectrum_bins), device=self.device, dtype=self.dtype)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), torch.inference_mode():
            for _ in range(3):  # warm-up on a side stream, as CUDA graph capture requires
                self.model(x, f)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.inference_mode():
            y = self.model(x, f)
        return graph, x, f, y

    def _predict_logits(self, crops: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(crops).to(self.device, self.dtype, non_blocking=True)
            f = torch.from_numpy(spectrum).to(self.device, self.dtype, non_blocking=True)
            if self.cuda_graphs:
                n = x.shape[0]
                bucket = 1 << (n - 1).bit_length()
                if bucket not in self._graphs:
                    self._graphs[bucket] = self._capture(bucket)
                graph, gx, gf, gy = self._graphs[bucket]
                gx[:n].copy_(x)
                gf[:n].copy_(f)
                graph.replay()
                y = gy[:n]
            else:
                y = self.model(x, f)
            return y.float().cpu().numpy().reshape(-1)
