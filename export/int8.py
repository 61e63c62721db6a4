"""INT8 export with an accuracy gate, per-layer sensitivity and a cache keyed by the model hash.

Flow: calibrate on a class-balanced set from the training split -> quantize (Q/DQ) -> compare
with FP32 on a labelled held-out set -> if the AUC drops more than the gate allows, measure each
layer's sensitivity (quantize that layer alone, see how far the output moves), keep the most
sensitive layers in float and try again -> fail with a clear message when even that fails.
Everything expensive is cached under ``cache_dir/<model sha256>/``: a rerun with the same model,
data and options copies the stored result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from calibration.faces import PreparedSet
from calibration.ranges import ArrayReader
from calibration.splits import DEFAULT_CACHE, calibration_sample, validation_sample
from engine.backends.metrics import roc_auc
from engine.errors import ModelError, UsageError
from export.quantize import check_tensorrt_qdq, quantizable_nodes, quantize_int8
from train.labelled import find_labelled

log = logging.getLogger(__name__)

MAX_AUC_DROP = 0.005
EXCLUDE_STEPS = (1, 2, 4, 8)
CACHE_VERSION = 1


@dataclass(frozen=True)
class LayerSensitivity:
    """How much quantizing one layer alone moves the model's output on the validation set."""

    node: str
    mean_abs_logit_diff: float
    auc_drop: float


@dataclass
class Int8Report:
    """Result of a gated INT8 export (also the cached record).

    Attributes:
        path: the INT8 Q/DQ ONNX written.
        method: calibration method.
        calibration_samples / validation_samples: set sizes (class-balanced).
        auc_fp32 / auc_int8 / auc_drop: on the validation set.
        max_prob_diff: largest |p_int8 - p_fp32| on the validation set.
        excluded: nodes kept in float to pass the gate (empty when plain INT8 passed).
        attempts: (number of excluded layers, AUC drop) for every try.
        sensitivity: per-layer sensitivities, most sensitive first (measured only when needed).
        qdq: Q/DQ node counts of the result.
        cached: whether this result came from the cache.
    """

    path: Path
    method: str
    calibration_samples: int
    validation_samples: int
    auc_fp32: float
    auc_int8: float
    auc_drop: float
    max_prob_diff: float
    excluded: list[str] = field(default_factory=list)
    attempts: list[tuple[int, float]] = field(default_factory=list)
    sensitivity: list[LayerSensitivity] = field(default_factory=list)
    qdq: dict[str, int] = field(default_factory=dict)
    cached: bool = False

    def to_json(self) -> dict:
        data = asdict(self)
        data["path"] = str(self.path)
        return data

    @classmethod
    def from_json(cls, data: dict, path: Path) -> Int8Report:
        data = dict(data, path=path, cached=True)
        data["sensitivity"] = [LayerSensitivity(**s) for s in data.get("sensitivity", [])]
        data["attempts"] = [tuple(a) for a in data.get("attempts", [])]
        return cls(**data)


def _sha256(path: Path) -> str:
    from engine.backends.trt_manifest import file_sha256

    return file_sha256(path)


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


# Gate sets are scored in chunks: ORT's arena grows with the batch, and 400 crops at once (800
# with the flip pass) took 16 GB for the two-model ensemble on the 24 GB dev box.
LOGIT_CHUNK = 32


def _logits(model: Path, data: PreparedSet) -> np.ndarray:
    from engine.backends.ort import OrtBackend

    backend = OrtBackend(model)
    p = np.concatenate([
        backend.predict(data.crops[i : i + LOGIT_CHUNK], data.spectrum[i : i + LOGIT_CHUNK])
        for i in range(0, len(data.crops), LOGIT_CHUNK)
    ] or [np.zeros(0)]).astype(np.float64)
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def _cached_set(kind: str, make, key: str, cache: Path) -> PreparedSet:
    """Prepared arrays stored as .npz beside the ranges, so reruns skip decoding and detection."""
    file = cache / f"{kind}-{key}.npz"
    if file.is_file():
        z = np.load(file, allow_pickle=False)
        paths = tuple(Path(p) for p in z["paths"])
        return PreparedSet(z["crops"], z["spectrum"], z["labels"], paths)
    data = make()
    np.savez(file, crops=data.crops, spectrum=data.spectrum, labels=data.labels,
             paths=np.array([str(p) for p in data.paths]))
    return data


def layer_sensitivity(
    fp32: Path, ranges: Path, val: PreparedSet, ref_logits: np.ndarray, workdir: Path
) -> list[LayerSensitivity]:
    """Quantize each layer alone (with the cached ranges) and measure the output change."""
    out: list[LayerSensitivity] = []
    auc_ref = roc_auc(val.labels, ref_logits)
    for node in quantizable_nodes(fp32):
        probe = workdir / "probe.onnx"
        quantize_int8(fp32, probe, None, method=_ranges_method(ranges), cache=ranges,
                      nodes_to_quantize=[node])
        logits = _logits(probe, val)
        out.append(LayerSensitivity(
            node,
            float(np.abs(logits - ref_logits).mean()),
            float(auc_ref - roc_auc(val.labels, logits)),
        ))
    return sorted(out, key=lambda s: s.mean_abs_logit_diff, reverse=True)


def _ranges_method(ranges: Path) -> str:
    return ranges.stem.split("-", 1)[0]


def export_int8(
    fp32: Path,
    out: Path,
    data: Sequence[Path],
    method: str = "minmax",
    calibration_n: int = 512,
    validation_n: int = 400,
    max_auc_drop: float = MAX_AUC_DROP,
    cache_dir: Path | None = None,
    detect: bool = True,
) -> Int8Report:
    """Calibrate, quantize and gate; see the module docstring.

    Args:
        fp32: FP32 classifier ONNX.
        out: destination of the INT8 Q/DQ ONNX.
        data: labelled face folders (``real/`` and ``fake/`` inside).
        method: "minmax", "entropy" or "percentile".
        calibration_n: calibration set size (class-balanced, training split).
        validation_n: gate set size (class-balanced, held-out split).
        max_auc_drop: the gate: AUC(FP32) - AUC(INT8) must not exceed this.
        cache_dir: cache root (default ``~/.cache/deepscreen``).
        detect: crop faces with the detector as the runtime does (else whole images).

    Returns:
        An :class:`Int8Report` (``cached=True`` when it came from the cache).

    Raises:
        UsageError: no labelled data.
        ModelError: the gate cannot be passed even with layers kept in float.
    """
    from engine.backends.ort import OrtBackend

    fp32, out = Path(fp32), Path(out)
    if not data:
        raise UsageError("INT8 calibration needs labelled faces: "
                         "pass --data DIR (real*/fake* subfolders)")
    contract = OrtBackend(fp32).contract
    model_hash = _sha256(fp32)
    cache = Path(cache_dir or DEFAULT_CACHE) / "int8" / model_hash[:16]
    cache.mkdir(parents=True, exist_ok=True)
    items = find_labelled(list(data))
    set_key = _digest(sorted(str(it.path) for it in items), contract, detect, CACHE_VERSION)
    result_key = _digest(set_key, method, calibration_n, validation_n, max_auc_drop)
    result_file = cache / f"result-{result_key}.json"
    stored_model = cache / f"int8-{result_key}.onnx"
    if result_file.is_file() and stored_model.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stored_model, out)
        log.info("INT8 result for %s taken from the cache (%s)", fp32.name, result_file)
        return Int8Report.from_json(json.loads(result_file.read_text()), out)

    calib = _cached_set(
        f"calib{calibration_n}", lambda: calibration_sample(items, contract, calibration_n, detect),
        set_key, cache,
    )
    val = _cached_set(
        f"val{validation_n}", lambda: validation_sample(items, contract, validation_n, detect),
        set_key, cache,
    )
    ranges = cache / f"{method}-ranges-n{calibration_n}-{set_key}.json"
    reader = ArrayReader(calib.crops, calib.spectrum)
    ref_logits = _logits(fp32, val)
    auc_fp32 = roc_auc(val.labels, ref_logits)
    p_ref = 1 / (1 + np.exp(-ref_logits))

    attempts: list[tuple[int, float]] = []
    sensitivity: list[LayerSensitivity] = []
    excluded: list[str] = []
    with tempfile.TemporaryDirectory(prefix="deepscreen-int8-") as tmp:
        work = Path(tmp)
        steps = [0, *EXCLUDE_STEPS]
        for k in steps:
            if k and not sensitivity:
                log.info("INT8 AUC drop too large; measuring per-layer sensitivity")
                sensitivity = layer_sensitivity(fp32, ranges, val, ref_logits, work)
            if k > len(sensitivity) and k:
                break
            excluded = [s.node for s in sensitivity[:k]]
            candidate = work / "int8.onnx"
            quantize_int8(fp32, candidate, reader, method, ranges, nodes_to_exclude=excluded)
            logits = _logits(candidate, val)
            auc = roc_auc(val.labels, logits)
            drop = float(auc_fp32 - auc)
            # A model whose INT8 output no longer varies has lost the signal, even where its
            # AUC (0.5 from ties) happens to beat a weak FP32 model's.
            collapsed = float(np.ptp(logits)) == 0.0 < float(np.ptp(ref_logits))
            if collapsed:
                drop = float("inf")
            attempts.append((k, drop))
            log.info("INT8 %s, %d layer(s) in float: AUC %.4f (drop %.4f)", method, k, auc, drop)
            if drop <= max_auc_drop:
                qdq = check_tensorrt_qdq(candidate)
                p = 1 / (1 + np.exp(-logits))
                report = Int8Report(
                    path=out, method=method, calibration_samples=len(calib),
                    validation_samples=len(val), auc_fp32=float(auc_fp32), auc_int8=float(auc),
                    auc_drop=drop, max_prob_diff=float(np.abs(p - p_ref).max()),
                    excluded=excluded, attempts=attempts, sensitivity=sensitivity, qdq=qdq,
                )
                shutil.copyfile(candidate, stored_model)
                result_file.write_text(json.dumps(report.to_json(), indent=2))
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(candidate, out)
                return report
    worst = ", ".join(f"{s.node} ({s.mean_abs_logit_diff:.3f})" for s in sensitivity[:5])
    tried = "; ".join(f"{k} in float: drop {d:.4f}" for k, d in attempts)
    raise ModelError(
        f"INT8 ({method}) cannot pass the gate (AUC drop <= {max_auc_drop}) for {fp32.name}: "
        f"{tried}. Most sensitive layers: {worst or 'n/a'}. Try another --method, more "
        "calibration data, or ship FP16."
    )
