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
