"""Metrics used to gate precisions and backends, in plain NumPy (the runtime has no sklearn)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (label 1 = positive), ties counted as half.

    Computed as the Mann-Whitney U statistic with average ranks, which equals the trapezoidal
    ROC area including ties.

    Returns:
        AUC in [0, 1], or NaN when only one class is present.
    """
    y = np.asarray(labels).astype(bool).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    # Average rank over runs of equal scores.
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], len(s)]
    for a, b in zip(starts, ends, strict=True):
        ranks[order[a:b]] = (a + b + 1) / 2.0
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def accuracy_at(labels: np.ndarray, p_fake: np.ndarray, threshold: float) -> float:
    """Fraction of correct verdicts with fake = p_fake >= threshold."""
    y = np.asarray(labels).astype(bool).reshape(-1)
    pred = np.asarray(p_fake).reshape(-1) >= threshold
    return float((pred == y).mean()) if len(y) else float("nan")


@dataclass(frozen=True)
class Agreement:
    """How a candidate model's probabilities compare with a reference on the same inputs.

    Attributes:
        auc_ref: AUC of the reference (NaN without both classes).
        auc: AUC of the candidate.
        auc_drop: auc_ref - auc (positive = the candidate is worse).
        max_prob_diff: largest |p_candidate - p_ref|.
        mean_prob_diff: mean |p_candidate - p_ref|.
        flips: verdicts at the threshold that differ from the reference's.
    """

    auc_ref: float
    auc: float
    auc_drop: float
    max_prob_diff: float
    mean_prob_diff: float
    flips: int


def agreement(
    labels: np.ndarray | None, p_ref: np.ndarray, p: np.ndarray, threshold: float
) -> Agreement:
    """Compare candidate probabilities ``p`` with reference ``p_ref``."""
    diff = np.abs(np.asarray(p, np.float64) - np.asarray(p_ref, np.float64))
    if labels is None:
        auc_ref = auc = float("nan")
    else:
        auc_ref, auc = roc_auc(labels, p_ref), roc_auc(labels, p)
    flips = int(((np.asarray(p) >= threshold) != (np.asarray(p_ref) >= threshold)).sum())
    return Agreement(
        auc_ref=auc_ref,
        auc=auc,
        auc_drop=auc_ref - auc,
        max_prob_diff=float(diff.max()) if diff.size else 0.0,
        mean_prob_diff=float(diff.mean()) if diff.size else 0.0,
        flips=flips,
    )
