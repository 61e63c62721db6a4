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
