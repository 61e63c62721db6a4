"""Per-stage latency bookkeeping: the one stage clock of the pipeline and of the benchmark.

Every stage (decode, detect, track, crop, spectral, preprocess, classify, vote, the time a
crop waits in the batcher, and the periodic heap trim) is timed with ``time.perf_counter``.
A :class:`StageTimer` keeps the exact count, sum and maximum plus a bounded reservoir of
recent samples for percentiles, so a run of hours does not grow memory. The same samples
feed the Prometheus histograms (through ``observer``) and the benchmark, which switches
``recording`` off during its warm-up instead of keeping a clock of its own.

Percentiles use linear interpolation between closest ranks (NumPy's default, the same rule as
``onnxruntime_perf_test``), so p50 of an even count is the mean of the two middle values.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

STAGES = (
    "decode", "wait", "detect", "detect_regions", "track", "crop", "batch_wait", "spectral",
    "preprocess", "classify", "vote", "trim",
)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of ``values`` by linear interpolation between ranks.

    Returns NaN for an empty sample.

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
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True)
class StageStats:
    """Latency of one stage over a run, in milliseconds.

    Attributes:
        stage: stage name ("" for a plain series of call times).
        count: timed calls (per frame for decode/wait/detect/track/crop, per batch for
            spectral/preprocess/classify/vote, per crop for batch_wait).
        total_ms: sum over all calls (the stage's share of the wall time).
        mean_ms, p50_ms, p90_ms, p95_ms, p99_ms, max_ms: over the calls (percentiles over the
            most recent ``reservoir`` calls; NaN when there were none).
    """

    stage: str
    count: int
    total_ms: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def summarize(
    seconds: Iterable[float], stage: str = "", count: int | None = None,
    total_s: float | None = None, max_s: float | None = None,
) -> StageStats:
    """Summarise durations given in seconds into a :class:`StageStats` (milliseconds).

    ``count``, ``total_s`` and ``max_s`` override what the samples say, for a timer whose
    reservoir holds only the most recent samples of a longer series.
    """
    ms = [s * 1000.0 for s in seconds]
    n = len(ms) if count is None else count
    total = sum(ms) if total_s is None else total_s * 1000.0
    top = (max(ms) if ms else math.nan) if max_s is None else max_s * 1000.0
    p50, p90, p95, p99 = (percentile(ms, q) for q in (50.0, 90.0, 95.0, 99.0))
    return StageStats(stage, n, total, total / n if n else math.nan, p50, p90, p95, p99, top)


class StageTimer:
    """Collects durations per stage; safe for one writer and readers on other threads.

    Args:
        reservoir: most recent samples kept per stage for the percentiles.
        observer: called with ``(stage, seconds)`` for every recorded duration (metrics).

    Attributes:
        recording: False drops durations (a benchmark's warm-up); True by default.
    """

    def __init__(
        self, reservoir: int = 20000, observer: Callable[[str, float], None] | None = None
    ) -> None:
        self._recent: dict[str, deque[float]] = {}
        self._count: dict[str, int] = {}
        self._sum: dict[str, float] = {}
        self._max: dict[str, float] = {}
        self._reservoir = reservoir
        self._observer = observer
        self.recording = True

    def observe(self, observer: Callable[[str, float], None]) -> None:
        """Also hand every recorded duration to ``observer`` (e.g. Prometheus histograms)."""
        previous = self._observer
        if previous is None:
            self._observer = observer
        else:
            def both(stage: str, seconds: float) -> None:
                previous(stage, seconds)
                observer(stage, seconds)

            self._observer = both

    def add(self, stage: str, seconds: float) -> None:
        """Record one duration (ignored while not recording)."""
        if not self.recording:
            return
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

    stage = time  # the benchmark's spelling: ``with timer.stage("detect"):``

    def samples(self, stage: str) -> list[float]:
        """The recent durations of ``stage``, in seconds."""
        return list(self._recent.get(stage, ()))

    def stats(self) -> dict[str, StageStats]:
        """Summary per stage, in pipeline order."""
        order = [s for s in STAGES if s in self._recent] + sorted(
            s for s in self._recent if s not in STAGES
        )
        return {
            s: summarize(self._recent[s], s, self._count[s], self._sum[s], self._max[s])
            for s in order
        }

    summaries = stats
