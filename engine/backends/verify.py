"""`deepscreen verify`: one labelled face set through every available backend and precision.

The reference is the FP32 model in PyTorch when a checkpoint is given (and torch is installed),
else the FP32 ONNX in ONNX Runtime on the CPU. Each row reports the largest probability
difference to the reference, AUC, accuracy at the model's threshold and latency per crop, and
is judged by the gate of its precision. Backends that cannot run here are listed as skipped
with the reason, never silently dropped.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.backends.base import Backend
from engine.backends.metrics import accuracy_at, roc_auc
from engine.errors import DeepscreenError

log = logging.getLogger(__name__)

# Gates per precision: (max |p - p_ref|, max AUC drop vs reference), the same acceptance as the
# exporters apply. INT8 is judged on AUC only (the calibration gate): clipping calibrations
# (entropy) legitimately move single probabilities by 0.2+ while ranking the faces the same.
GATES: dict[str, tuple[float, float]] = {
    "fp32": (1e-4, 1e-4),
    "fp16": (0.02, 0.002),
    "int8": (float("inf"), 0.005),
}


@dataclass(frozen=True)
class VerifyRow:
    """One backend x precision on the verification set (or why it was skipped)."""

    backend: str
    precision: str
    model: str
    max_abs_diff: float = float("nan")
    auc: float = float("nan")
    accuracy: float = float("nan")
    ms_per_crop: float = float("nan")
    passed: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class VerifyResult:
    """All rows plus the reference's own figures."""

    reference: str
    samples: int
    threshold: float
    rows: list[VerifyRow]

    @property
    def ok(self) -> bool:
        return all(r.passed is not False for r in self.rows)


def gate_text(precision: str) -> str:
    """Human-readable gate of a precision."""
    max_diff, max_drop = GATES[precision]
    diff = f"diff <= {max_diff:g}, " if np.isfinite(max_diff) else ""
    return f"{diff}AUC drop <= {max_drop:g}"


def precision_models(model: Path) -> dict[str, Path]:
    """The FP32 model and its FP16/INT8 siblings that exist (classifier.{fp16,int8}.onnx)."""
    found = {"fp32": model}
    for tag in ("fp16", "int8"):
        sibling = model.with_name(f"{model.stem}.{tag}.onnx")
        if sibling.is_file():
            found[tag] = sibling
    return found


def _timed(backend: Backend, crops: np.ndarray, spectrum: np.ndarray) -> tuple[np.ndarray, float]:
    backend.predict(crops[:2], spectrum[:2])  # warm-up (lazy allocations, engine caches)
    t0 = time.perf_counter()
    p = backend.predict(crops, spectrum)
    return p, (time.perf_counter() - t0) * 1e3 / max(len(crops), 1)


def _row(backend: Backend, precision: str, model: Path, data, p_ref: np.ndarray,
         auc_ref: float) -> VerifyRow:
    p, ms = _timed(backend, data.crops, data.spectrum)
    diff = float(np.abs(p.astype(np.float64) - p_ref).max())
    auc = roc_auc(data.labels, p)
    max_diff, max_drop = GATES[precision]
    passed = diff <= max_diff and (auc_ref - auc) <= max_drop
    if np.ptp(p) == 0.0 < np.ptp(p_ref):
        passed = False  # constant output: the model lost the signal (ties give AUC 0.5)
    note = "" if passed else f"gate: {gate_text(precision)}"
    return VerifyRow(backend.name, precision, model.name, diff, auc,
                     accuracy_at(data.labels, p, backend.contract.threshold), ms, passed, note)


def _candidates(include_gpu: bool, url: str | None) -> list[str]:
    names = ["ort-cpu"]
    if include_gpu:
        names += ["ort-cuda", "tensorrt"]
    if url:
        names.append("remote")
    return names


def verify_faces(
    faces,
    model: Path,
    checkpoint: Path | None = None,
    url: str | None = None,
    include_gpu: bool = True,
) -> VerifyResult:
    """Run every backend and precision on one prepared face set; see the module docstring.

    Args:
        faces: the labelled set, already prepared (``crops``, ``spectrum``, ``labels`` and
            ``len()``); the command line gathers it with the calibration tools.
        model: the FP32 ONNX (its FP16/INT8 siblings are picked up).
        checkpoint: a training checkpoint that makes FP32 PyTorch the reference.
        url: a remote Open Inference Protocol server to verify as well.
        include_gpu: also try the CUDA and TensorRT backends.
    """
    from engine.backends.factory import load_backend

    fp32 = load_backend("ort-cpu", model)
    contract = fp32.contract

    rows: list[VerifyRow] = []
    reference = f"FP32 ONNX Runtime CPU ({model.name})"
    p_ref = fp32.predict(faces.crops, faces.spectrum).astype(np.float64)
    if checkpoint is not None:
        try:
            torch_backend = load_backend("torch", checkpoint)
        except DeepscreenError as exc:
            rows.append(VerifyRow("torch-cpu", "fp32", checkpoint.name, note=f"skipped: {exc}"))
        else:
            p_ref, ms = _timed(torch_backend, faces.crops, faces.spectrum)
            p_ref = p_ref.astype(np.float64)
            reference = f"FP32 PyTorch ({checkpoint.name})"
            rows.append(VerifyRow(torch_backend.name, "fp32", checkpoint.name, 0.0,
                                  roc_auc(faces.labels, p_ref),
                                  accuracy_at(faces.labels, p_ref, contract.threshold), ms, True,
                                  "reference"))
    auc_ref = roc_auc(faces.labels, p_ref)

    for precision, path in precision_models(model).items():
        for name in _candidates(include_gpu, url):
            if name == "remote" and precision != "fp32":
                continue  # the server runs one model; compare it once
            opts = {"url": url} if name == "remote" else {}
            # A TensorRT engine is verified against the ONNX it was built from, by file name.
            target = path.with_suffix(".engine") if name == "tensorrt" else path
            if name == "tensorrt" and not target.is_file():
                rows.append(VerifyRow(name, precision, target.name, note=(
                    f"skipped: no engine; build it with `deepscreen export trt {path} "
                    f"--precision {precision}`")))
                continue
            try:
                backend = load_backend(name, target, **opts)
            except DeepscreenError as exc:
                # A server the user named must answer; local backends may be absent here.
                failed = False if name == "remote" else None
                label = "unreachable" if name == "remote" else "skipped"
                rows.append(VerifyRow(name, precision, path.name, passed=failed,
                                      note=f"{label}: {exc}"))
                continue
            try:
                rows.append(_row(backend, precision, path, faces, p_ref, auc_ref))
            except DeepscreenError as exc:
                rows.append(VerifyRow(name, precision, path.name, passed=False, note=str(exc)))
            finally:
                backend.close()
    return VerifyResult(reference, len(faces), contract.threshold, rows)
