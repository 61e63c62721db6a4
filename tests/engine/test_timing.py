"""Percentiles and stage timing of the benchmark."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from engine.timing import StageTimer, percentile, summarize


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 99, 99.9, 100])
@pytest.mark.parametrize("n", [1, 2, 7, 100, 1001])
def test_percentile_matches_numpy_linear(q: float, n: int) -> None:
    values = list(np.random.default_rng(n).lognormal(size=n))
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-12)


def test_percentile_ignores_order_and_interpolates() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([10.0, 20.0], 90) == pytest.approx(19.0)


def test_percentile_edge_cases() -> None:
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summarize_converts_to_ms_and_orders_percentiles() -> None:
    seconds = list(np.random.default_rng(0).exponential(0.01, size=500))
    s = summarize(seconds)
    assert s.count == 500
    assert s.p50_ms <= s.p90_ms <= s.p99_ms <= s.max_ms
    assert s.total_ms == pytest.approx(sum(seconds) * 1000)
    assert s.mean_ms == pytest.approx(np.mean(seconds) * 1000)
    empty = summarize([])
    assert empty.count == 0 and math.isnan(empty.p50_ms)


def test_stage_timer_skips_warmup_calls() -> None:
    timer = StageTimer()
    timer.recording = False
    with timer.stage("detect"):
        time.sleep(0.002)
    timer.recording = True
    for _ in range(3):
        with timer.stage("detect"):
            time.sleep(0.002)
    timer.add("classify", 0.5)
    stats = timer.summaries()
    assert stats["detect"].count == 3
    assert stats["detect"].p50_ms >= 2.0
    assert stats["classify"].p50_ms == pytest.approx(500.0)
