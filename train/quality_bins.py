"""Where is the detector reliable? AUC per input-quality bin (face size x sharpness).

The engine measures every face's quality with :func:`engine.judge.quality.crop_quality`: the face
box's side in native pixels and the variance of the Laplacian of its grey pixels. This module
scores labelled images at several rescalings (so that small and soft faces of *both* classes
exist, and every bin holds both), measures each face with the engine's own functions, and
reports the AUC of the detector in each (side, sharpness) bin. Bins below a reliability floor
(e.g. AUC < 0.75) are where the engine should abstain rather than vote "real": with finer side
edges, :func:`side_table` and :func:`choose_floor` give the vote floor of
:mod:`engine.judge.face_floor`.
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
BOOTSTRAP = 1000  # resamples behind each side bin's AUC interval
# A side bin is reliable when the detector ranks it (the AUC >= 0.75) and, at its own
# threshold, catches more fakes than it passes as real (engine/judge/face_floor.py).
FLOOR_MIN_AUC, FLOOR_MIN_TPR = 0.75, 0.5


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


@dataclass(frozen=True)
class SideRow:
    """The detector on one face-side bin, every sharpness together.

    Attributes:
        side: [lo, hi) face side in native pixels.
        n_real, n_fake: faces of each class in the bin.
        auc: AUC (NaN with fewer than 5 of either class); auc_lo/auc_hi its 95 % bootstrap
            interval (faces resampled within each class).
        tpr, tnr: rates at the model's threshold (a face floor guards against "real" on fakes
            the detector cannot see: low TPR is the failure an abstain rule prevents).
    """

    side: tuple[float, float]
    n_real: int
    n_fake: int
    auc: float
    auc_lo: float
    auc_hi: float
    tpr: float
    tnr: float


def parse_edges(text: str) -> tuple[float, ...]:
    """Bin edges from ``"20,32,40,48"``: increasing, with 0 before and infinity after added.

    Raises:
        ValueError: not numbers, or not strictly increasing.
    """
    edges = [float(v) for v in text.split(",") if v.strip()]
    if not edges or any(b <= a for a, b in zip(edges, edges[1:], strict=False)) or edges[0] < 0:
        raise ValueError(f"bin edges must be increasing numbers >= 0, got {text!r}")
    return tuple(([0.0] if edges[0] > 0 else []) + edges + [math.inf])


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """AUC by the Mann-Whitney rank sum (ties count half), NaN with one class."""
    labels = np.asarray(labels).astype(bool)
    n1, n0 = int(labels.sum()), int((~labels).sum())
    if not n1 or not n0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    s = np.asarray(scores)[order]
    # Average the ranks of tied scores.
    _, start, counts = np.unique(s, return_index=True, return_counts=True)
    for a, c in zip(start, counts, strict=True):
        if c > 1:
            ranks[order[a:a + c]] = a + (c + 1) / 2
    return float((ranks[labels].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def side_table(faces: Sequence[FaceMeasure], side_edges: Sequence[float], threshold: float,
               seed: int = 0) -> list[SideRow]:
    """AUC (with a bootstrap interval) and TPR/TNR at ``threshold`` per face-side bin."""
    rng = np.random.default_rng(seed)
    labels = np.array([f.label for f in faces])
    scores = np.array([f.p_fake for f in faces])
    sides = np.array([f.side for f in faces])
    nan = float("nan")
    rows = []
    for s0, s1 in zip(side_edges[:-1], side_edges[1:], strict=True):
        m = (sides >= s0) & (sides < s1)
        y, p = labels[m], scores[m]
        real, fake = p[y == 0], p[y == 1]
        auc = lo = hi = nan
        if len(real) >= 5 and len(fake) >= 5:
            auc = rank_auc(y, p)
            both = np.r_[np.zeros(len(real)), np.ones(len(fake))]
            boot = [rank_auc(both, np.r_[rng.choice(real, len(real)), rng.choice(fake, len(fake))])
                    for _ in range(BOOTSTRAP)]
            lo, hi = (float(v) for v in np.percentile(boot, [2.5, 97.5]))
        rows.append(SideRow((s0, s1), len(real), len(fake), auc, lo, hi,
                            float((fake >= threshold).mean()) if len(fake) else nan,
                            float((real < threshold).mean()) if len(real) else nan))
    return rows


def choose_floor(rows: Sequence[SideRow], min_auc: float = FLOOR_MIN_AUC,
                 min_tpr: float = FLOOR_MIN_TPR) -> float:
    """The vote floor the rows support: the smallest lower edge from which every bin up (with
    both classes) has AUC >= ``min_auc`` and TPR >= ``min_tpr`` at the threshold.

    TPR too, not AUC alone: a model can still rank small faces fairly yet pass most small fakes
    as real at its threshold, and "real" is the answer the floor must not give unvalidated.
    """
    floor = rows[0].side[0] if rows else 0.0
    for r in rows:
        if not math.isnan(r.auc) and (r.auc < min_auc or r.tpr < min_tpr):
            floor = r.side[1]
    return float(floor)


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


def _span(a: float, b: float) -> str:
    return f">= {a:g}" if math.isinf(b) else f"{a:g}-{b:g}"


def write_bins(out: Path, rows: Sequence[BinRow], faces: Sequence[FaceMeasure]) -> Path:
    """``quality_bins.md`` (sides down, sharpness across: AUC and real/fake counts) + JSON."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality_bins.json").write_text(json.dumps(
        {"bins": [asdict(r) for r in rows], "faces": [asdict(f) for f in faces]}))

    sharps = sorted({r.sharpness for r in rows})
    lines = ["| face side (px) \\ sharpness | " + " | ".join(_span(*h) for h in sharps) + " |",
             "|---|" + "---|" * len(sharps)]
    for side in sorted({r.side for r in rows}):
        cells = []
        for h in sharps:
            r = next(x for x in rows if x.side == side and x.sharpness == h)
            auc = "-" if math.isnan(r.auc) else f"{r.auc:.3f}"
            cells.append(f"{auc} ({r.n_real}/{r.n_fake})")
        lines.append(f"| {_span(*side)} | " + " | ".join(cells) + " |")
    md = out / "quality_bins.md"
    md.write_text("\n".join(lines) + "\n\nCells: AUC (real faces / fake faces); '-' where a bin "
                  "has fewer than 5 of either class.\n")
    return md


def write_sides(out: Path, rows: Sequence[SideRow], threshold: float) -> Path:
    """``quality_sides.md`` (one row per face-side bin) + ``quality_sides.json``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality_sides.json").write_text(json.dumps(
        {"threshold": threshold, "floor": choose_floor(rows), "sides": [asdict(r) for r in rows]}))

    def f(x: float) -> str:
        return "-" if math.isnan(x) else f"{x:.3f}"

    lines = [f"| face side (px) | real | fake | AUC | AUC 95 % interval | TPR @ {threshold:g} "
             f"| TNR @ {threshold:g} |", "|---|---:|---:|---:|---|---:|---:|"]
    for r in rows:
        ci = "-" if math.isnan(r.auc_lo) else f"{r.auc_lo:.2f}-{r.auc_hi:.2f}"
        lines.append(f"| {_span(*r.side)} | {r.n_real} | {r.n_fake} | {f(r.auc)} | {ci} "
                     f"| {f(r.tpr)} | {f(r.tnr)} |")
    md = out / "quality_sides.md"
    md.write_text("\n".join(lines) + f"\n\nEvery sharpness together; AUC '-' where a bin has "
                  f"fewer than 5 of either class; interval: {BOOTSTRAP} bootstrap resamples "
                  f"within each class.\n\nVote floor supported (every bin from there up: AUC >= "
                  f"{FLOOR_MIN_AUC:g} and TPR >= {FLOOR_MIN_TPR:g}): {choose_floor(rows):g} px\n")
    return md
