"""Where is the detector reliable? AUC per input-quality bin (face size x sharpness).

The engine measures every face's quality with :func:`engine.judge.quality.crop_quality`: the face
box's side in native pixels and the variance of the Laplacian of its grey pixels. This module
scores labelled images at several rescalings (so that small and soft faces of *both* classes
exist, and every bin holds both), measures each face with the engine's own functions, and
reports the AUC of the detector in each (side, sharpness) bin. Bins below a reliability floor
(e.g. AUC < 0.75) are where the engine should abstain rather than vote "real".
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from engine.judge.quality import sharpness
from train.data import face_crop, largest_face, make_detector, read_bgr
from train.labelled import Sample
from train.metrics import binary_metrics
from train.scale_eval import rescale_image

ScoreFn = Callable[[list[np.ndarray]], np.ndarray]

SIDE_EDGES = (0.0, 48.0, 64.0, 96.0, 160.0, math.inf)
SHARP_EDGES = (0.0, 25.0, 75.0, 200.0, math.inf)


@dataclass(frozen=True)
class FaceMeasure:
    """One scored face: its label, p_fake and the engine's quality facts."""

    label: int
    p_fake: float
    side: float
    sharpness: float
    source: str


@dataclass(frozen=True)
class BinRow:
    """AUC of one (side, sharpness) bin; NaN where it lacks one class."""

    side: tuple[float, float]
    sharpness: tuple[float, float]
    n_real: int
    n_fake: int
    auc: float


def measure_faces(
    samples: Sequence[Sample],
    score: ScoreFn,
    scales: Sequence[float],
    margin: float,
    min_face: int = 20,
) -> list[FaceMeasure]:
    """Score the largest face of each sample at each scale, with its engine quality facts."""
    detector = make_detector(min_face)
    out: list[FaceMeasure] = []
    for s in samples:
        img = read_bgr(s.path)
        crops, facts = [], []
        for scale in scales:
            scaled = rescale_image(img, scale)
            det = largest_face(detector.detect(scaled))
            if det is None:
                continue
            box = tuple(float(v) for v in det.box[:4])
            side = max(box[2] - box[0], box[3] - box[1])
            crops.append(face_crop(scaled, box, margin))
            facts.append((side, sharpness(scaled, box)))
        if crops:
            for p, (side, sharp) in zip(np.asarray(score(crops)).reshape(-1), facts, strict=True):
                out.append(FaceMeasure(s.label, float(p), side, sharp, s.source))
    return out


def bin_table(faces: Sequence[FaceMeasure], side_edges: Sequence[float] = SIDE_EDGES,
              sharp_edges: Sequence[float] = SHARP_EDGES) -> list[BinRow]:
    """The AUC of every (side, sharpness) bin."""
    labels = np.array([f.label for f in faces])
    scores = np.array([f.p_fake for f in faces])
    sides = np.array([f.side for f in faces])
    sharp = np.array([f.sharpness for f in faces])
    rows = []
    for s0, s1 in zip(side_edges[:-1], side_edges[1:], strict=True):
        for h0, h1 in zip(sharp_edges[:-1], sharp_edges[1:], strict=True):
            m = (sides >= s0) & (sides < s1) & (sharp >= h0) & (sharp < h1)
            n_real, n_fake = int((labels[m] == 0).sum()), int((labels[m] == 1).sum())
            auc = (binary_metrics(labels[m], scores[m], 0.5).auc
                   if n_real >= 5 and n_fake >= 5 else float("nan"))
            rows.append(BinRow((s0, s1), (h0, h1), n_real, n_fake, float(auc)))
    return rows


def write_bins(out: Path, rows: Sequence[BinRow], faces: Sequence[FaceMeasure]) -> Path:
    """``quality_bins.md`` (sides down, sharpness across: AUC and real/fake counts) + JSON."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality_bins.json").write_text(json.dumps(
        {"bins": [asdict(r) for r in rows], "faces": [asdict(f) for f in faces]}))

    def span(a: float, b: float) -> str:
        return f">= {a:g}" if math.isinf(b) else f"{a:g}-{b:g}"

    sharps = sorted({r.sharpness for r in rows})
    lines = ["| face side (px) \\ sharpness | " + " | ".join(span(*h) for h in sharps) + " |",
             "|---|" + "---|" * len(sharps)]
    for side in sorted({r.side for r in rows}):
        cells = []
        for h in sharps:
            r = next(x for x in rows if x.side == side and x.sharpness == h)
            auc = "-" if math.isnan(r.auc) else f"{r.auc:.3f}"
            cells.append(f"{auc} ({r.n_real}/{r.n_fake})")
        lines.append(f"| {span(*side)} | " + " | ".join(cells) + " |")
    md = out / "quality_bins.md"
    md.write_text("\n".join(lines) + "\n\nCells: AUC (real faces / fake faces); '-' where a bin "
                  "has fewer than 5 of either class.\n")
    return md
