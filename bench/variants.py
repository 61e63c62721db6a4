"""The benchmark's backend names and how each is opened.

``--backends`` takes precision-qualified names, because on a CPU the precision lives in the ONNX
file (FP16 = an FP16 ONNX, INT8 = a Q/DQ ONNX, as TensorRT 10+ strongly typed networks want):

==========  =====================================================================
name        what runs
==========  =====================================================================
ort         ONNX Runtime, FP32 ONNX (CUDA provider with ``--device cuda``)
ort-fp16    ONNX Runtime, the FP16 ONNX beside the model
ort-int8    ONNX Runtime, the INT8 Q/DQ ONNX beside the model
torch       PyTorch eager (FP32 on CPU; FP16 + CUDA graphs with ``--device cuda``)
tensorrt    native TensorRT engine built from the model (NVIDIA GPUs only)
==========  =====================================================================

A backend that cannot run here is reported with the reason, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.backends.base import Backend
from engine.errors import BackendUnavailable, UsageError

BENCH_BACKENDS = ("ort", "ort-fp16", "ort-int8", "torch", "tensorrt", "ort-tensorrt")
PRECISION = {
    "ort": "fp32",
    "ort-fp16": "fp16",
    "ort-int8": "int8",
    "torch": "fp32",
    "tensorrt": "engine",
    "ort-tensorrt": "onnx",
}


def variant_path(model: Path, precision: str) -> Path | None:
    """The FP16 / INT8 sibling of an FP32 ONNX (``classifier.fp16.onnx`` and spellings)."""
    for sep in (".", "_", "-"):
        candidate = model.with_name(f"{model.stem}{sep}{precision}{model.suffix}")
        if candidate.is_file():
            return candidate
    return None


@dataclass
class OpenedBackend:
    """A backend opened for the benchmark, with what the results need to say about it."""

    name: str
    precision: str
    backend: Backend
    model_file: Path | None
    detail: str


def open_bench_backend(
    name: str,
    model: Path,
    device: str = "cpu",
    checkpoint: Path | None = None,
    fp16_model: Path | None = None,
    int8_model: Path | None = None,
    cuda_graphs: bool = True,
    threads: int = 0,
    shipped: bool = False,
) -> OpenedBackend:
    """Open one benchmark backend.

    ``shipped``: ``model`` is the default, not one named on the command line; the ``ort`` row
    on the CPU then opens what ``screen`` opens (the single-pass twin while it matches).

    Raises:
        BackendUnavailable: it cannot run here (missing file, library, provider or GPU).
        UsageError: unknown name.
    """
    from engine.backends.factory import load_backend

    if name not in BENCH_BACKENDS:
        raise UsageError(f"unknown bench backend {name!r}; choose from {', '.join(BENCH_BACKENDS)}")
    precision = PRECISION[name]
    if name.startswith("ort") and name != "ort-tensorrt":
        path = model
        if name != "ort":
            given = fp16_model if precision == "fp16" else int8_model
            path = given or variant_path(model, precision)
            if path is None or not Path(path).is_file():
                hint = "export fp16" if precision == "fp16" else "calibration (INT8 Q/DQ)"
                raise BackendUnavailable(
                    f"no {precision.upper()} model beside {model.name} (make one with {hint}, "
                    f"or pass --model-{precision})"
                )
        ort_name = "ort-cuda" if device == "cuda" else "ort"
        as_screen = shipped and name == "ort" and ort_name == "ort"
        backend = load_backend(ort_name, None if as_screen else Path(path), threads=threads)
        path = Path(getattr(backend, "model_path", path))
        detail = f"{backend.name}, {path.name}"
        return OpenedBackend(name, precision, backend, path, detail)
    if name == "ort-tensorrt":
        backend = load_backend("ort-tensorrt", model)
        return OpenedBackend(name, precision, backend, model, backend.name)
    if name == "tensorrt":
        backend = load_backend("tensorrt", model)
        return OpenedBackend(name, precision, backend, model, backend.name)
    # torch
    from bench.torch_model import build_torch_model
    from export.torch_backend import TorchBackend

    net, contract, spec = build_torch_model(checkpoint, model)
    half = device == "cuda"
    backend = TorchBackend(
        net, contract, device=device, half=half, cuda_graphs=cuda_graphs and device == "cuda"
    )
    precision = "fp16" if half else "fp32"
    return OpenedBackend(
        name, precision, backend, checkpoint, f"{backend.name}, {spec.model_name}, {spec.weights}"
    )


def check_backend_names(names: list[str]) -> list[str]:
    """Validate ``--backends`` values (order kept, duplicates removed)."""
    out: list[str] = []
    for n in names:
        if n not in BENCH_BACKENDS:
            raise UsageError(
                f"unknown bench backend {n!r}; choose from {', '.join(BENCH_BACKENDS)}"
            )
        if n not in out:
            out.append(n)
    return out
