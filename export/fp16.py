"""FP32 ONNX -> FP16 ONNX with float32 inputs and outputs, checked against the FP32 model.

TensorRT 10+/11 builds strongly typed networks: FP16 execution comes from FP16 tensors in the
ONNX, not from a builder flag. Weights and activations become float16; Cast nodes at the
graph edges keep the engine's float32 interface (``keep_io_types``), so every backend feeds the
same arrays whatever the precision.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.backends.metrics import Agreement, agreement
from engine.errors import BackendUnavailable, ModelError
from engine.preprocess import InputContract

log = logging.getLogger(__name__)

# Accepted worst-case |p_fp16 - p_fp32| and AUC drop; FP16 has ~3 decimal digits, so a
# probability moves by far less than this unless a layer overflows (what this catches).
MAX_PROB_DIFF = 0.02
MAX_AUC_DROP = 0.002


@dataclass(frozen=True)
class Fp16Report:
    """Result of an FP16 conversion.

    Attributes:
        path: the FP16 ONNX.
        size_bytes: its size (about half the FP32 file).
        samples: number of real faces compared.
        labelled: whether the comparison set had labels (AUC figures are NaN otherwise).
        agreement: FP16 vs FP32 probabilities (AUC difference, max probability difference).
    """

    path: Path
    size_bytes: int
    samples: int
    labelled: bool
    agreement: Agreement


def convert_to_fp16(src: Path, dst: Path) -> Path:
    """Write the FP16 version of ``src`` to ``dst`` (float32 graph inputs/outputs kept).

    Raises:
        BackendUnavailable: onnxconverter-common is not installed.
        ModelError: the result fails the ONNX checker.
    """
    import onnx

    try:
        from onnxconverter_common import float16
    except ImportError as exc:
        raise BackendUnavailable(
            "FP16 conversion needs onnxconverter-common (pip install onnxconverter-common)"
        ) from exc
    model = onnx.load(str(src))
    # Values that do not fit FP16 are clamped rather than becoming 0 or inf; the converter warns
    # once per clamped value, so the warnings are counted and logged as one line.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        converted = float16.convert_float_to_float16(
            model, keep_io_types=True, min_positive_val=1e-7, max_finite_val=1e4
        )
    clamped = sum("truncated" in str(w.message) for w in caught)
    if clamped:
        log.info("FP16: %d weight value(s) outside the FP16 range were clamped", clamped)
    props = {p.key: p.value for p in model.metadata_props}
    props["deepscreen.precision"] = "fp16"
    del converted.metadata_props[:]
    for key, value in sorted(props.items()):
        converted.metadata_props.add(key=key, value=value)
    try:
        onnx.checker.check_model(converted, full_check=True)
    except Exception as exc:
        raise ModelError(f"FP16 model fails the ONNX checker: {exc}".splitlines()[0]) from exc
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(converted, str(dst))
    return dst


def compare_models(
    ref: Path,
    candidate: Path,
    crops: np.ndarray,
    spectrum: np.ndarray,
    labels: np.ndarray | None,
    threshold: float,
) -> Agreement:
    """Probabilities of ``candidate`` vs ``ref`` (both in ONNX Runtime CPU) on the same inputs."""
    from engine.backends.ort import OrtBackend

    p_ref = OrtBackend(ref).predict(crops, spectrum)
    p = OrtBackend(candidate).predict(crops, spectrum)
    return agreement(labels, p_ref, p, threshold)


def comparison_set(
    contract: InputContract, data: list[Path] | None, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Labelled validation faces when available, else the parity crops (unlabelled)."""
    from calibration.faces import DEFAULT_FACES, parity_crops, prepare_images
    from calibration.splits import validation_sample
    from train.labelled import find_labelled

    roots = data or ([DEFAULT_FACES] if DEFAULT_FACES.is_dir() else [])
    if roots:
        prepared = validation_sample(find_labelled(roots), contract, n)
        return prepared.crops, prepared.spectrum, prepared.labels
    crops, spectrum = prepare_images(parity_crops(16), contract)
    return crops, spectrum, None


def export_fp16(src: Path, dst: Path, data: list[Path] | None = None, n: int = 256) -> Fp16Report:
    """Convert to FP16, compare with the FP32 model on real faces, and gate the result.

    Raises:
        ModelError: the FP16 model disagrees with FP32 beyond :data:`MAX_PROB_DIFF` or its AUC
            drops more than :data:`MAX_AUC_DROP` (the file is removed).
    """
    from engine.backends.ort import OrtBackend

    contract = OrtBackend(src).contract
    convert_to_fp16(src, dst)
    crops, spectrum, labels = comparison_set(contract, data, n)
    agree = compare_models(src, dst, crops, spectrum, labels, contract.threshold)
    problems = []
    if agree.max_prob_diff > MAX_PROB_DIFF:
        problems.append(f"max |p16 - p32| = {agree.max_prob_diff:.4f} > {MAX_PROB_DIFF}")
    if labels is not None and agree.auc_drop > MAX_AUC_DROP:
        problems.append(f"AUC drop {agree.auc_drop:.4f} > {MAX_AUC_DROP}")
    if problems:
        dst.unlink(missing_ok=True)
        raise ModelError(f"FP16 model of {src} fails its check: {'; '.join(problems)}")
    log.info("fp16 %s: max prob diff %.2e, AUC drop %.4f", dst, agree.max_prob_diff, agree.auc_drop)
    return Fp16Report(dst, dst.stat().st_size, len(crops), labels is not None, agree)
