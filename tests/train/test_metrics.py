"""Metrics on inputs whose answers are known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from train.metrics import (
    auc_standard_error,
    binary_metrics,
    eer_threshold,
    sigmoid,
    wilson_interval,
    worst_group_threshold,
)


def test_perfect_separation() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    m = binary_metrics(y, p, 0.5)
    assert m.auc == 1.0 and m.ap == 1.0 and m.eer == 0.0
    assert (m.tp, m.fn, m.tn, m.fp) == (3, 0, 3, 0)
    assert m.accuracy == 1.0 and m.tpr == 1.0 and m.tnr == 1.0


def test_known_auc_and_confusion() -> None:
    # Pairs (fake, real) correctly ordered: 3 of 4 -> AUC 0.75.
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])
    m = binary_metrics(y, p, 0.5)
    assert math.isclose(m.auc, 0.75)
    assert (m.tp, m.fn, m.tn, m.fp) == (1, 1, 1, 1)
    assert m.tpr == 0.5 and m.tnr == 0.5


def test_threshold_is_inclusive() -> None:
    m = binary_metrics(np.array([1, 0]), np.array([0.5, 0.49]), 0.5)
    assert m.tp == 1 and m.tn == 1


def test_eer_threshold_balances_errors() -> None:
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(500), np.ones(500)].astype(int)
    p = np.r_[rng.normal(0.4, 0.1, 500), rng.normal(0.6, 0.1, 500)]
    eer, thr = eer_threshold(y, p)
    assert abs(thr - 0.5) < 0.03
    m = binary_metrics(y, p, thr)
    assert abs((1 - m.tpr) - (1 - m.tnr)) < 0.02
    # Two unit-variance-0.1 Gaussians 2 sigma apart: EER = Phi(-1) ~ 0.159.
    assert abs(eer - 0.159) < 0.03


def test_one_class_gives_nan_auc_but_rates() -> None:
    m = binary_metrics(np.ones(4, int), np.array([0.9, 0.8, 0.2, 0.7]), 0.5)
    assert math.isnan(m.auc) and m.tpr == 0.75 and math.isnan(m.tnr)


def test_sigmoid_is_stable() -> None:
    out = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    assert np.allclose(out, [0.0, 0.5, 1.0])


def test_wilson_interval_textbook_values() -> None:
    # Wilson 95 % intervals: 0/10 -> [0, 0.2775], 5/10 -> [0.2366, 0.7634].
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = wilson_interval(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    lo, hi = wilson_interval(994, 1000)
    assert lo < 0.994 < hi <= 1.0


def test_auc_standard_error_matches_the_spread_of_resampled_test_sets() -> None:
    # Binormal scores with a true AUC near 0.92: the Hanley-McNeil error of one test set of
    # 300 + 300 should match the spread of the AUC over many such test sets.
    rng = np.random.default_rng(0)
    aucs = []
    for _ in range(400):
        y = np.r_[np.ones(300), np.zeros(300)]
        s = np.r_[rng.normal(2.0, 1, 300), rng.normal(0.0, 1, 300)]
        aucs.append(binary_metrics(y, s, 1.0).auc)
    se = auc_standard_error(float(np.mean(aucs)), 300, 300)
    assert 0.8 < se / np.std(aucs) < 1.25


def _two_sources(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A large source whose classes sit at 0.3/0.7 and a small one at 0.5/0.9 (sd 0.1)."""
    rng = np.random.default_rng(seed)
    p = np.r_[rng.normal(.3, .1, 1000), rng.normal(.7, .1, 1000),
              rng.normal(.5, .1, 100), rng.normal(.9, .1, 100)]
    y = np.r_[np.zeros(1000), np.ones(1000), np.zeros(100), np.ones(100)].astype(int)
    g = np.array(["a/real"] * 1000 + ["a/fake"] * 1000 + ["b/real"] * 100 + ["b/fake"] * 100)
    return y, p, g


def test_worst_group_threshold_serves_the_weakest_group() -> None:
    y, p, g = _two_sources()
    w = worst_group_threshold(y, p, g)
    # a/fake's TPR and b/real's TNR cross at 0.6, both Phi(1) ~ 0.841 there; the pooled EER
    # threshold sits lower, where the large source balances and b/real falls far below.
    assert abs(w.threshold - 0.6) < 0.02
    assert abs(w.worst_rate - 0.841) < 0.03
    assert w.worst_group in {"a/fake", "b/real"}
    eer_t = eer_threshold(y, p)[1]
    assert eer_t < w.threshold - 0.03
    assert np.mean(p[g == "b/real"] < eer_t) < w.worst_rate - 0.1
    # The reported rates are those of binary_metrics at the returned threshold.
    for name, rate in w.rates.items():
        m = binary_metrics(y[g == name], p[g == name], w.threshold)
        assert rate == pytest.approx(m.tpr if name.endswith("fake") else m.tnr)


@pytest.mark.parametrize("seed", range(5))
def test_worst_group_threshold_is_the_maximum(seed: int) -> None:
    """No threshold on a fine grid gives a higher lowest rate (brute force on small sets)."""
    rng = np.random.default_rng(seed)
    p = rng.random(240)
    y = np.r_[np.zeros(120), np.ones(120)].astype(int)
    p[y == 1] += 0.3
    g = np.array(["r1"] * 60 + ["r2"] * 60 + ["f1"] * 60 + ["f2"] * 60)
    p[g == "r2"] += 0.2
    w = worst_group_threshold(y, p, g, min_count=10)
    grid = np.linspace(p.min() - 0.01, p.max() + 0.01, 4001)
    best = max(min(np.mean((p[g == n] >= t) == n.startswith("f")) for n in ("r1", "r2", "f1", "f2"))
               for t in grid)
    assert w.worst_rate == pytest.approx(best)


def test_worst_group_threshold_skips_small_groups_and_refuses_mixed_ones() -> None:
    y, p, g = _two_sources()
    w = worst_group_threshold(y, p, g, min_count=200)
    assert w.skipped == ("b/fake", "b/real")
    assert abs(w.threshold - 0.5) < 0.03  # only the large source counts: its balance point
    with pytest.raises(ValueError, match="both classes"):
        worst_group_threshold(y, p, np.where(g == "b/real", "a/fake", g))
    with pytest.raises(ValueError, match="no group"):
        worst_group_threshold(y, p, g, min_count=5000)
