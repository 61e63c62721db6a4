"""Per-stage latency bookkeeping for the streaming pipeline.

Every stage (decode, detect, track, crop, spectral, preprocess, classify, vote, the time a
crop waits in the batcher, and the periodic heap trim) is timed with ``time.perf_counter``.
A :class:`StageTimer` keeps the exact count, sum and maximum plus a bounded reservoir of
recent samples for percentiles, so a run of hours does not grow memory. The same samples
feed the Prometheus histograms.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

STAGES = (
    "decode", "wait", "detect", "track", "crop", "batch_wait", "spectral", "preprocess",
    "classify", "vote", "trim",
)


@dataclass(frozen=True)
class StageStats:
    """Latency of one stage over a run, in milliseconds.

    Attributes:
        stage: stage name.
        count: timed calls (per frame for decode/wait/detect/track/crop, per batch for
            spectral/preprocess/classify/vote, per crop for batch_wait).
        total_ms: sum over all calls.
        mean_ms, p50_ms, p95_ms, p99_ms, max_ms: over the calls (percentiles over the most
            recent ``reservoir`` calls).
    """

    stage: str
    count: int
    total_ms: float
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


class StageTimer:
    """Collects durations per stage; thread-safe enough for one writer and readers."""

    def __init__(
        self, reservoir: int = 20000, observer: Callable[[str, float], None] | None = None
    ) -> None:
        self._recent: dict[str, deque[float]] = {}
        self._count: dict[str, int] = {}
        self._sum: dict[str, float] = {}
        self._max: dict[str, float] = {}
        self._reservoir = reservoir
        self._observer = observer

    def add(self, stage: str, seconds: float) -> None:
        """Record one duration."""
        if stage not in self._recent:
            self._recent[stage] = deque(maxlen=self._reservoir)
            self._count[stage] = 0
            self._sum[stage] = 0.0
            self._max[stage] = 0.0
        self._recent[stage].append(seconds)
        self._count[stage] += 1
        self._sum[stage] += seconds
        self._max[stage] = max(self._max[stage], seconds)
        if self._observer is not None:
            self._observer(stage, seconds)

    @contextmanager
    def time(self, stage: str) -> Iterator[None]:
        """Time the ``with`` block as one call of ``stage``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - t0)

    def stats(self) -> dict[str, StageStats]:
        """Summary per stage, in pipeline order."""
        out: dict[str, StageStats] = {}
        order = [s for s in STAGES if s in self._recent] + sorted(
            s for s in self._recent if s not in STAGES
        )
        for stage in order:
            samples = np.fromiter(self._recent[stage], dtype=np.float64) * 1000.0
            n = self._count[stage]
            p50, p95, p99 = (np.percentile(samples, [50, 95, 99]) if samples.size else (0, 0, 0))
            out[stage] = StageStats(
                stage=stage,
                count=n,
                total_ms=self._sum[stage] * 1000.0,
                mean_ms=self._sum[stage] * 1000.0 / n if n else 0.0,
                p50_ms=float(p50),
                p95_ms=float(p95),
                p99_ms=float(p99),
                max_ms=self._max[stage] * 1000.0,
            )
        return out
