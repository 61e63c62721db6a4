"""Per-source evaluation on the registry's test splits, with published peers on the same crops.

The crops are the canonical ones (ONNX MTCNN, the model's margin, native resolution), computed
once and scored by our model and by each peer (e.g. MesoNet-4), so every row compares the two on
exactly the same inputs. For every source:

- ``rate``: TPR on a fake source, TNR on a real source, at the detector's own threshold (ours:
  the validation threshold stored in the model; a peer: the EER threshold on the same
  validation split, since its native 0.5 is not calibrated for these crops);
- ``auc``: for a source with both classes (dfdc-faces, ffhq-vs-stylegan1) its own AUC; for a
  one-class source, the AUC of its images against the test images of the other class from the
  trainable sources (how separable this source is from what the model must not confuse it with).
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from train.data import detect_faces, face_crop, read_bgr
from train.labelled import Sample
from train.metrics import binary_metrics, eer_threshold
from train.sources import load_sources, source_name, spec_for

log = logging.getLogger(__name__)

ScoreFn = Callable[[list[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class Detector:
    """A named scorer of native BGR crops (p_fake) and its threshold (None: calibrate on val)."""

    name: str
    score: ScoreFn
    threshold: float | None


@dataclass(frozen=True)
class SourceRow:
    """One (source, detector) cell of the evaluation table."""

    source: str
    detector: str
    n: int
    metric: str
    rate: float
    auc: float
    threshold: float


def score_samples(
    samples: Sequence[Sample],
    detectors: Sequence[Detector],
    margin: float,
    cache_dir: Path | None,
    min_face: int = 40,
    chunk: int = 256,
    crop: Callable[[np.ndarray, tuple[float, ...], float], np.ndarray] = face_crop,
) -> dict[str, np.ndarray]:
    """p_fake of every detector on the crops of ``samples`` (chunked: bounded RAM).

    ``crop(image, box, margin)`` makes them: the canonical crop unless a probe asks for another
    framing (``research/framing_probe.py``).
    """
    cache = Path(cache_dir) / "faces.npz" if cache_dir else None
    faces = detect_faces([s.path for s in samples], cache, margin, min_face)
    out: dict[str, list[np.ndarray]] = {d.name: [] for d in detectors}
    for i in range(0, len(samples), chunk):
        crops = [crop(read_bgr(s.path), faces[s.path].box, margin)
                 for s in samples[i : i + chunk]]
        for d in detectors:
            out[d.name].append(np.asarray(d.score(crops), np.float64).reshape(-1))
        log.info("scored %d/%d", min(i + chunk, len(samples)), len(samples))
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}


def source_rows(
    test: Sequence[Sample], p: np.ndarray, name: str, threshold: float
) -> list[SourceRow]:
    """Rate (TPR/TNR) and AUC rows per source, plus an AUC row per two-class source."""
    labels = np.array([s.label for s in test])
    sources = np.array([s.source for s in test])
    trainable = np.array([not spec_for(source_name(s.source)).heldout for s in test])
    rows = []
    for source in sorted(set(sources.tolist())):
        idx = sources == source
        label = int(labels[idx][0])
        rate = float(np.mean((p[idx] >= threshold) == bool(label)))
        other = trainable & (labels == 1 - label)
        sel = idx | other
        auc = binary_metrics(labels[sel], p[sel], threshold).auc if other.any() else float("nan")
        rows.append(SourceRow(source, name, int(idx.sum()), "TPR" if label else "TNR", rate,
                              auc, threshold))
    for base in sorted({source_name(s) for s in sources.tolist()}):
        idx = np.array([source_name(s) == base for s in sources.tolist()])
        if len(set(labels[idx].tolist())) == 2:
            m = binary_metrics(labels[idx], p[idx], threshold)
            rows.append(SourceRow(base, name, int(idx.sum()), "AUC", m.accuracy, m.auc,
                                  threshold))
    return rows


def evaluate_sources(
    root: str | Path,
    detectors: Sequence[Detector],
    margin: float,
    cache_dir: Path | None = Path("runs/cache"),
    val: float = 0.1,
    test: float = 0.2,
    seed: int = 0,
    limit: int | None = None,
) -> list[SourceRow]:
    """Score every detector on the test split of every source below ``root``.

    Args:
        root: faces root (one folder per source; see :mod:`train.sources`).
        detectors: ours first, then peers.
        margin: crop margin (the model's contract).
        cache_dir: face detection cache.
        val, test, seed: the registry split (must be the one the model was trained with).
        limit: at most this many test images per source (quick runs), chosen by the split hash.
    """
    samples = load_sources(root, None, val, test, seed)
    test_set = [s for s in samples if s.split == "test"]
    if limit:
        test_set = _limit(test_set, limit)
    scores = score_samples(test_set, detectors, margin, cache_dir)
    need_val = [d for d in detectors if d.threshold is None]
    thresholds = {d.name: d.threshold for d in detectors}
    if need_val:
        val_set = [s for s in samples if s.split == "val"]
        if limit:
            val_set = _limit(val_set, limit)
        val_scores = score_samples(val_set, need_val, margin, cache_dir)
        y = np.array([s.label for s in val_set])
        for d in need_val:
            thresholds[d.name] = float(eer_threshold(y, val_scores[d.name])[1])
    rows = []
    for d in detectors:
        rows += source_rows(test_set, scores[d.name], d.name, float(thresholds[d.name]))
    return rows


def _limit(samples: Sequence[Sample], limit: int) -> list[Sample]:
    import hashlib

    by_source: dict[str, list[Sample]] = {}
    for s in samples:
        by_source.setdefault(s.source, []).append(s)
    out = []
    for group in by_source.values():
        group.sort(key=lambda s: hashlib.sha256(s.path.encode()).hexdigest())
        out += group[:limit]
    return out


def comparison_markdown(rows: Sequence[SourceRow]) -> str:
    """One line per source, one rate + AUC column pair per detector."""
    names = list(dict.fromkeys(r.detector for r in rows))
    cells = {(r.source, r.metric, r.detector): r for r in rows}
    keys = list(dict.fromkeys((r.source, r.metric) for r in rows))
    head = "| source | n | metric | " + " | ".join(f"{n} rate | {n} AUC" for n in names) + " |"
    lines = [head, "| --- | ---: | --- |" + " ---: | ---: |" * len(names)]
    for source, metric in keys:
        first = cells[(source, metric, names[0])]
        parts = []
        for n in names:
            r = cells.get((source, metric, n))
            parts.append("- | -" if r is None else
                         f"{'-' if metric == 'AUC' else f'{r.rate:.3f}'} | {_fmt(r.auc)}")
        lines.append(f"| {source} | {first.n} | {metric} | " + " | ".join(parts) + " |")
    thr = ", ".join(f"{n}: {cells[(keys[0][0], keys[0][1], n)].threshold:.4f}" for n in names
                    if (keys[0][0], keys[0][1], n) in cells)
    return "\n".join(lines) + f"\n\nThresholds: {thr}.\n"


def _fmt(v: float) -> str:
    return "-" if v != v else f"{v:.3f}"


def write_comparison(out: str | Path, rows: Sequence[SourceRow]) -> Path:
    """Write ``sources.csv``, ``sources.json`` and ``sources.md`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dicts = [asdict(r) for r in rows]
    with (out / "sources.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(dicts[0]))
        w.writeheader()
        w.writerows(dicts)
    (out / "sources.json").write_text(json.dumps(dicts, indent=2))
    (out / "sources.md").write_text(comparison_markdown(rows))
    return out / "sources.md"


def mesonet_detector(path: str | Path) -> Detector:
    """MesoNet (``train.peers``) as a :class:`Detector`, its threshold calibrated on val."""
    from train.peers import MesoNetPeer

    peer = MesoNetPeer.from_h5(path)
    return Detector(peer.name, peer.score, None)
