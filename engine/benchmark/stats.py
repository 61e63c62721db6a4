"""Latency statistics: percentiles over repeated timings, and a per-stage timer.

Percentiles use linear interpolation between closest ranks (NumPy's default, the same rule
as ``onnxruntime_perf_test`` and most benchmark tools), so p50 of an even count is the mean of
the two middle values.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

PERCENTILES: tuple[float, ...] = (50.0, 90.0, 99.0)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of ``values`` by linear interpolation between ranks.

    Args:
        values: samples, in any order.
        q: percentile in [0, 100].

    Returns:
        The interpolated percentile; NaN for an empty sample.

    Raises:
        ValueError: q outside [0, 100].
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile must be in [0, 100], got {q}")
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    frac = pos - lo
    return ordered[lo] + (ordered[hi] - ordered[lo]) * frac


@dataclass(frozen=True)
class LatencySummary:
    """Summary of one stage's timings, in milliseconds.

    Attributes:
        count: number of timed calls (after warm-up).
        mean_ms, p50_ms, p90_ms, p99_ms, max_ms: statistics of the per-call latency.
        total_ms: sum of all calls (share of the wall-clock time spent in the stage).
    """

    count: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    total_ms: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def summarize(seconds: Iterable[float]) -> LatencySummary:
    """Summarise per-call durations given in seconds into a :class:`LatencySummary` (ms)."""
    ms = [s * 1000.0 for s in seconds]
    if not ms:
        nan = math.nan
        return LatencySummary(0, nan, nan, nan, nan, nan, 0.0)
    return LatencySummary(
        count=len(ms),
        mean_ms=sum(ms) / len(ms),
        p50_ms=percentile(ms, 50.0),
        p90_ms=percentile(ms, 90.0),
        p99_ms=percentile(ms, 99.0),
        max_ms=max(ms),
        total_ms=sum(ms),
    )


class StageTimer:
    """Collects wall-clock durations per named stage; calls during warm-up are not kept.

    Example:
        >>> timer = StageTimer()
        >>> with timer.stage("detect"):
        ...     pass
        >>> timer.summaries()["detect"].count
        1
    """

    def __init__(self) -> None:
        self._samples: dict[str, list[float]] = defaultdict(list)
        self.recording = True

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.recording:
                self._samples[name].append(time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        """Record a duration measured elsewhere (e.g. by the pipeline's own stage clock)."""
        if self.recording:
            self._samples[name].append(seconds)

    def samples(self, name: str) -> list[float]:
        return list(self._samples.get(name, []))

    def summaries(self) -> dict[str, LatencySummary]:
        return {name: summarize(values) for name, values in self._samples.items()}
