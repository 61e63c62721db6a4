"""Binary detection metrics with label 1 = fake and scores = p_fake (higher = more fake)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class BinaryMetrics:
    """Threshold-free and thresholded metrics of one scored set.

    AUC/AP/EER are NaN when only one class is present (per-source tables of one-class folders
    report TPR or TNR instead).
    """

    n: int
    n_fake: int
    n_real: int
    auc: float
    ap: float
    eer: float
    threshold: float
    accuracy: float
    tpr: float
    tnr: float
    tp: int
    fn: int
    tn: int
    fp: int

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def eer_threshold(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Equal error rate and the score threshold where FPR and FNR cross.

    Returns:
        (eer, threshold): the threshold is the smallest ROC threshold with FNR <= FPR, so
        ``score >= threshold`` means fake.
    """
    from sklearn.metrics import roc_curve

    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, np.float64)
    fpr, tpr, thr = roc_curve(labels, scores)
    fnr = 1.0 - tpr
    i = int(np.nanargmin(np.abs(fnr - fpr)))
    eer = float((fpr[i] + fnr[i]) / 2.0)
    return eer, float(min(thr[i], 1.0))


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> BinaryMetrics:
    """All metrics of ``scores`` against ``labels`` at ``threshold`` (``score >= t`` is fake)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, np.float64)
    pred = scores >= threshold
    tp = int(np.sum(pred & (labels == 1)))
    fn = int(np.sum(~pred & (labels == 1)))
    tn = int(np.sum(~pred & (labels == 0)))
    fp = int(np.sum(pred & (labels == 0)))
    n_fake, n_real = tp + fn, tn + fp
    both = n_fake > 0 and n_real > 0
    nan = float("nan")
    return BinaryMetrics(
        n=len(labels),
        n_fake=n_fake,
        n_real=n_real,
        auc=float(roc_auc_score(labels, scores)) if both else nan,
        ap=float(average_precision_score(labels, scores)) if both else nan,
        eer=eer_threshold(labels, scores)[0] if both else nan,
        threshold=float(threshold),
        accuracy=(tp + tn) / max(len(labels), 1),
        tpr=tp / n_fake if n_fake else nan,
        tnr=tn / n_real if n_real else nan,
        tp=tp,
        fn=fn,
        tn=tn,
        fp=fp,
    )


def logit(p: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """Inverse of :func:`sigmoid`, with ``p`` clipped to ``[eps, 1 - eps]`` (finite at 0 and 1)."""
    p = np.clip(np.asarray(p, np.float64), eps, 1 - eps)
    return np.log(p / (1 - p))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    x = np.asarray(x, np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a rate ``k / n`` (95 % for ``z`` 1.96).

    Used for the per-source TPR/TNR: unlike the normal approximation it stays inside [0, 1] and
    is not degenerate at rates of 0 or 1, which the small sources (70 sd21 faces) reach.
    """
    if n <= 0:
        return float("nan"), float("nan")
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def auc_standard_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of a ROC AUC from its value and class sizes (Hanley & McNeil, 1982).

    It models the sampling of the test faces only, not the variation between training runs.
    """
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc)
           + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))


@dataclass(frozen=True)
class WorstGroupThreshold:
    """The threshold that maximises the lowest per-group rate, and what it achieves."""

    threshold: float
    worst_rate: float  # the lowest counted group's rate at ``threshold``
    worst_group: str
    mean_rate: float  # mean of the counted groups' rates (the tie-break)
    rates: dict[str, float]  # every counted group's rate at ``threshold``
    skipped: tuple[str, ...]  # groups with fewer than ``min_count`` faces


def worst_group_threshold(
    labels: np.ndarray, scores: np.ndarray, groups: np.ndarray, min_count: int = 50
) -> WorstGroupThreshold:
    """Threshold maximising the lowest per-group rate (``score >= threshold`` is fake).

    Each group must hold one class (e.g. ``dfdc-faces/real``): its rate is its TPR if it is
    fake, its TNR if real. A pooled equal-error rate lets the largest source set the operating
    point; this rule instead serves the weakest group, which is what "every source >= 0.85"
    asks. Groups with fewer than ``min_count`` faces are left out: their rates move in steps too
    coarse to steer by. Ties are broken by the highest mean rate, then by the middle of the tied
    run of thresholds, so the point sits inside a plateau rather than on its edge.

    Raises:
        ValueError: a group holding both classes, or no group large enough.
    """
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, np.float64)
    groups = np.asarray(groups).astype(str)
    counted: dict[str, tuple[int, np.ndarray]] = {}
    skipped = []
    for g in sorted(set(groups.tolist())):
        idx = groups == g
        classes = set(labels[idx].tolist())
        if len(classes) != 1:
            raise ValueError(f"group {g!r} holds both classes")
        if idx.sum() < min_count:
            skipped.append(g)
            continue
        counted[g] = (classes.pop(), np.sort(scores[idx]))
    if not counted:
        raise ValueError(f"no group has {min_count} or more faces")
    # Candidates: every counted score (the rates only change there) and one above them all.
    cand = np.unique(np.concatenate([s for _, s in counted.values()]))
    cand = np.append(cand, np.nextafter(cand[-1], np.inf))
    rates = np.empty((len(counted), len(cand)))
    for row, (label, s) in enumerate(counted.values()):
        below = np.searchsorted(s, cand, side="left") / len(s)  # share with score < t
        rates[row] = 1.0 - below if label == 1 else below
    worst = rates.min(axis=0)
    mean = rates.mean(axis=0)
    best = np.flatnonzero(worst == worst.max())
    best = best[mean[best] == mean[best].max()]
    i = int(best[len(best) // 2])
    names = list(counted)
    return WorstGroupThreshold(
        threshold=float(cand[i]),
        worst_rate=float(worst[i]),
        worst_group=names[int(np.argmin(rates[:, i]))],
        mean_rate=float(mean[i]),
        rates={n: float(rates[r, i]) for r, n in enumerate(names)},
        skipped=tuple(skipped),
    )
