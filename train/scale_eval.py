"""Scale invariance, measured: the same test images as a camera further away would see them.

Each test image of each source is rescaled by every factor (INTER_AREA, as a sensor integrates
its pixels), its faces are detected again on the rescaled image (the engine's MTCNN, faces of at
least ``min_face`` pixels, the largest kept), cropped the canonical way and scored. Per source
and scale: how many images still had a face, the rate at the model's threshold (TPR on a fake
source, TNR on a real one) and, for a two-class source, its AUC; per source: the fraction of
images (with a face at every scale) whose verdict is not the same at every scale. A detector
that keys on image quality flips with distance; one that keys on manipulation should not.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from train.data import face_crop, largest_face, make_detector, read_bgr
from train.labelled import Sample
from train.metrics import binary_metrics
from train.sources import load_sources

log = logging.getLogger(__name__)

ScoreFn = Callable[[list[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class ScaleRow:
    """One (source, scale) cell.

    Attributes:
        source: ``name/label`` of the source.
        scale: the rescaling factor.
        n: images whose face was found at this scale (of ``total``).
        total: test images of the source.
        metric: "TPR" (fake source) or "TNR" (real source).
        rate: that rate at the threshold, on the ``n`` images.
        auc: the AUC of a two-class source (both labels under one name), else NaN.
        flip_rate: of the images with a face at every scale, the fraction whose verdict differs
            between scales (the same value on every scale's row of a source).
        flip_n: how many images that fraction rests on.
    """

    source: str
    scale: float
    n: int
    total: int
    metric: str
    rate: float
    auc: float
    flip_rate: float
    flip_n: int


def rescale_image(img: np.ndarray, scale: float) -> np.ndarray:
    """The image as a camera ``1 / scale`` times further away would capture it."""
    if scale == 1.0:
        return img
    h, w = img.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(img, size, interpolation=interp)


class _BoxCache:
    """Detections per (resolved path, scale), kept in a JSON file between runs."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data: dict[str, list[float] | None] = {}
        if path is not None and path.is_file():
            self.data = json.loads(path.read_text())

    def key(self, sample: Sample, scale: float) -> str:
        return f"{Path(sample.path).resolve()}@{scale:g}"

    def save(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.data))


def scaled_scores(
    samples: Sequence[Sample],
    score: ScoreFn,
    scales: Sequence[float],
    margin: float,
    min_face: int = 40,
    cache_file: Path | None = None,
) -> np.ndarray:
    """p_fake of each sample at each scale, (N, S) with NaN where no face was found."""
    detector = None
    boxes = _BoxCache(cache_file)
    out = np.full((len(samples), len(scales)), np.nan)
    for j, scale in enumerate(scales):
        crops, rows = [], []
        for i, s in enumerate(samples):
            key = boxes.key(s, scale)
            img = None
            if key not in boxes.data:
                detector = detector or make_detector(min_face)
                img = rescale_image(read_bgr(s.path), scale)
                det = largest_face(detector.detect(img))
                boxes.data[key] = None if det is None else [float(v) for v in det.box[:4]]
            box = boxes.data[key]
            if box is None:
                continue
            img = img if img is not None else rescale_image(read_bgr(s.path), scale)
            crops.append(face_crop(img, tuple(box), margin))
            rows.append(i)
            if len(crops) == 128:
                out[rows, j] = score(crops)
                crops, rows = [], []
        if crops:
            out[rows, j] = score(crops)
        boxes.save()
        log.info("scale %g: faces in %d of %d images", scale, int(np.isfinite(out[:, j]).sum()),
                 len(samples))
    return out


def scale_rows(
    samples: Sequence[Sample], scores: np.ndarray, scales: Sequence[float], threshold: float
) -> list[ScaleRow]:
    """Per source and scale: rates, AUC of two-class sources, and verdict flips."""
    rows = []
    names = sorted({s.source.split("/", 1)[0] for s in samples})
    for name in names:
        idx = np.array([i for i, s in enumerate(samples) if s.source.split("/", 1)[0] == name])
        labels = np.array([samples[i].label for i in idx])
        every = np.isfinite(scores[idx]).all(axis=1)
        verdicts = scores[idx][every] >= threshold
        flips = (verdicts != verdicts[:, :1]).any(axis=1) if every.any() else np.zeros(0, bool)
        for label in sorted(set(labels.tolist())):
            mine = idx[labels == label]
            source = next(samples[i].source for i in mine)
            for j, scale in enumerate(scales):
                sc = scores[mine, j]
                ok = np.isfinite(sc)
                rate = (float(np.mean(sc[ok] >= threshold)) if label == 1
                        else float(np.mean(sc[ok] < threshold))) if ok.any() else float("nan")
                both = np.isfinite(scores[idx, j])
                two = len(set(labels[both].tolist())) == 2
                auc = (binary_metrics(labels[both], scores[idx, j][both], threshold).auc
                       if two else float("nan"))
                mine_every = every[labels == label]
                mine_flips = flips[(labels[every] == label)] if every.any() else flips
                rows.append(ScaleRow(
                    source, float(scale), int(ok.sum()), len(mine),
                    "TPR" if label == 1 else "TNR", rate, float(auc),
                    float(mine_flips.mean()) if mine_flips.size else float("nan"),
                    int(mine_every.sum())))
    return rows


def evaluate_scales(
    root: Path,
    score: ScoreFn,
    threshold: float,
    margin: float,
    scales: Sequence[float],
    cache_dir: Path | None = None,
    limit: int | None = None,
    min_face: int = 40,
) -> list[ScaleRow]:
    """Every source's test split below ``root`` at every scale (see the module docstring)."""
    samples = [s for s in load_sources(root) if s.split == "test"]
    if limit:
        kept, seen = [], {}
        for s in samples:
            if seen.get(s.source, 0) < limit:
                kept.append(s)
                seen[s.source] = seen.get(s.source, 0) + 1
        samples = kept
    cache = Path(cache_dir) / f"scale-faces-{min_face}.json" if cache_dir else None
    scores = scaled_scores(samples, score, scales, margin, min_face, cache)
    return scale_rows(samples, scores, scales, threshold)


def write_scale_table(out: Path, rows: Sequence[ScaleRow], scales: Sequence[float]) -> Path:
    """``scales.md`` (one row per source, a rate column per scale, flips) and ``scales.json``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "scales.json").write_text(json.dumps([asdict(r) for r in rows], indent=1))
    head = ["source", "metric", *(f"x{s:g} rate (n)" for s in scales), "AUC at each scale",
            "verdict flips"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for source in sorted({r.source for r in rows}):
        mine = {r.scale: r for r in rows if r.source == source}
        first = mine[float(scales[0])]
        cells = [f"{mine[float(s)].rate:.3f} ({mine[float(s)].n}/{first.total})" for s in scales]
        aucs = " / ".join("-" if np.isnan(mine[float(s)].auc) else f"{mine[float(s)].auc:.3f}"
                          for s in scales)
        flips = ("-" if np.isnan(first.flip_rate)
                 else f"{first.flip_rate:.3f} (of {first.flip_n})")
        lines.append("| " + " | ".join([source, first.metric, *cells, aucs, flips]) + " |")
    md = out / "scales.md"
    md.write_text("\n".join(lines) + "\n")
    return md
