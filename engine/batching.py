"""Cross-stream batching of face crops for the spectral feature and the classifier.

The scheduler cuts crops from frames of every stream and hands them to one
:class:`CropBatcher`. A batch is flushed when it holds ``max_batch`` crops or when its oldest crop
has waited ``max_wait_ms`` (so a quiet stream never waits for a busy one to fill a batch), and
whatever is left when the run stops. Batching amortises the per-call overhead of the classifier
backend (ONNX Runtime, TensorRT) and of the GPU FFT across streams.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass
class CropItem:
    """One face crop waiting for classification.

    Attributes:
        stream: stream name.
        stream_index: position of the stream in the run (for per-stream bookkeeping).
        track: track id within the stream.
        frame_index: index of the frame the crop was cut from.
        t: media time of that frame, seconds.
        crop: native-resolution square BGR crop (HxWx3 uint8).
        box: the box the crop was cut around (frame pixels).
        quality: the crop's :class:`~engine.judge.quality.CropQuality` (None when not measured).
        span: media seconds the crop stands for in its track's vote (:mod:`engine.budget`;
            None = one reference frame).
        enqueued: ``time.perf_counter()`` when the crop entered the batcher.
    """

    stream: str
    stream_index: int
    track: int
    frame_index: int
    t: float
    crop: np.ndarray = field(repr=False)
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    enqueued: float = 0.0
    quality: object = None
    span: float | None = None


class CropBatcher:
    """A FIFO of crops that says when a batch is due."""

    def __init__(self, max_batch: int = 16, max_wait_ms: float = 50.0) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        if max_wait_ms < 0:
            raise ValueError("max_wait_ms must be >= 0")
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000.0
        self._items: deque[CropItem] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: CropItem, now: float | None = None) -> None:
        """Queue one crop, stamping the time it arrived."""
        item.enqueued = time.perf_counter() if now is None else now
        self._items.append(item)

    def oldest_wait(self, now: float | None = None) -> float:
        """Seconds the oldest queued crop has waited (0 when empty)."""
        if not self._items:
            return 0.0
        now = time.perf_counter() if now is None else now
        return now - self._items[0].enqueued

    def due(self, now: float | None = None) -> bool:
        """True when a full batch is waiting or the oldest crop waited ``max_wait_ms``."""
        if not self._items:
            return False
        return len(self._items) >= self.max_batch or self.oldest_wait(now) >= self.max_wait_s

    def time_to_due(self, now: float | None = None) -> float | None:
        """Seconds until the queue is due by age (0 if due now), None when empty."""
        if not self._items:
            return None
        if len(self._items) >= self.max_batch:
            return 0.0
        return max(0.0, self.max_wait_s - self.oldest_wait(now))

    def holds_stream(self, stream_index: int) -> bool:
        """True when a crop of that stream is still queued."""
        return any(item.stream_index == stream_index for item in self._items)

    def take(self) -> list[CropItem]:
        """Remove and return up to ``max_batch`` crops, oldest first."""
        n = min(self.max_batch, len(self._items))
        return [self._items.popleft() for _ in range(n)]

    def drain(self) -> list[list[CropItem]]:
        """Everything still queued, as batches of at most ``max_batch``."""
        batches = []
        while self._items:
            batches.append(self.take())
        return batches
