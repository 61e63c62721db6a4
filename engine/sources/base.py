"""The Source contract: one reader thread per source feeding a bounded frame queue.

Live sources (webcams, RTSP, HTTP streams) must never fall behind real time, so when the
consumer is slow the OLDEST queued frame is discarded and counted in ``stats.dropped``.
Files and folders are lossless: the reader blocks on a full queue (back-pressure).

Accounting invariant the pipeline relies on: every frame read is delivered by :meth:`get`,
is still queued, or is counted in ``dropped``. In a :meth:`Source.stats` snapshot
``read == delivered + dropped + queued``; after :meth:`Source.stop` the queue is empty
(frames still queued at stop are discarded and counted in ``dropped`` and
``dropped_at_stop``), so ``read == delivered + dropped``.
"""

from __future__ import annotations

import abc
import atexit
import collections
import logging
import threading
import time
import weakref
from dataclasses import dataclass, replace

import cv2
import numpy as np

from engine.errors import UsageError
from engine.sources.scrub import redact, scrub_secrets
from engine.types import Frame

log = logging.getLogger("engine.sources")

STATES = ("connecting", "streaming", "reconnecting", "finished", "failed")

# Started sources that may still own a reader thread. A daemon thread still inside OpenCV when
# the interpreter finalises is torn down mid-C++ call and the process aborts ("terminate called
# without an active exception", exit 134), so every source is stopped at exit, in time.
_RUNNING: weakref.WeakSet[Source] = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    for source in list(_RUNNING):
        source.stop()


@dataclass
class SourceStats:
    """Counters of one source; :attr:`Source.stats` returns a consistent snapshot.

    Attributes:
        read: frames decoded (every frame that got an index).
        dropped: frames the source discarded: the oldest queued frames of a live source whose
            consumer was slow, plus frames still queued when ``stop()`` was called.
        reconnects: re-open attempts after a failed open, a lost stream or a stall.
        connects: successful opens of a live stream, the first included (``reconnects``
            counts attempts, failed ones too; this says how often the stream came back).
        errors: failures seen (failed opens, read errors and timeouts, undecodable images).
        last_error: the latest failure, one line, credentials removed ("" when none).
        state: "connecting", "streaming", "reconnecting", "finished" or "failed".
        delivered: frames handed out by ``get()``.
        queued: frames waiting in the queue at snapshot time.
        dropped_at_stop: part of ``dropped`` discarded by ``stop()`` (0 for a drained source).
        lag_s: how far an RTSP source's decoding trails the camera, from the stream's own
            timestamps (0 where it cannot be measured). It grows when this machine cannot
            decode the stream in real time: the backlog then waits in network buffers, where
            no queue can drop it (see ``max_lag`` in :class:`engine.sources.live.LiveSource`).
    """

    read: int = 0
    dropped: int = 0
    reconnects: int = 0
    connects: int = 0
    errors: int = 0
    last_error: str = ""
    state: str = "connecting"
    delivered: int = 0
    queued: int = 0
    dropped_at_stop: int = 0
    lag_s: float = 0.0


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Convert a decoded image to HxWx3 BGR uint8 (grayscale, BGRA and 16-bit accepted)."""
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:
            image = (image >> 8).astype(np.uint8)
        else:
            image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    channels = image.shape[2]
    if channels == 3:
        return image
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    raise ValueError(f"unsupported image with {channels} channels")


class Source(abc.ABC):
    """A video source read by its own thread into a bounded queue.

    Subclasses implement :meth:`_run` (open, read, reconnect) and hand every decoded image to
    :meth:`_emit`. Everything else (queueing, drops, counters, shutdown) lives here.

    Attributes:
        name: display id, credentials removed (file name, folder name, scrubbed URL, "webcam:0").
        live: True for webcams and streams (drop-oldest), False for files and folders
            (back-pressure, never a drop).
    """

    def __init__(
        self, name: str, *, live: bool, queue_size: int = 8, secrets: list[str] | None = None
    ):
        if queue_size < 1:
            raise UsageError(f"queue_size must be >= 1, got {queue_size}")
        self.name = name
        self.live = live
        self._secrets = list(secrets or [])
        self._queue: collections.deque[Frame] = collections.deque()
        self._queue_size = queue_size
        self._cond = threading.Condition()
        self._stats = SourceStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reader_done = False
        self._stopped = False
        self._t0 = time.monotonic()
        # How long stop() waits for the reader: subclasses with blocking I/O raise it.
        self._join_timeout = 10.0

    # ----------------------------------------------------------------- public API
    def start(self) -> None:
        """Start the reader thread (a second call does nothing)."""
        with self._cond:
            if self._thread is not None:
                return
            if self._stopped:
                raise UsageError(f"source {self.name} was stopped and cannot be restarted")
            self._t0 = time.monotonic()
            self._thread = threading.Thread(
                target=self._thread_main, name=f"source:{self.name}", daemon=True
            )
        _RUNNING.add(self)
        self._thread.start()

    def get(self, timeout: float) -> Frame | None:
        """Next frame, or None when none arrived within ``timeout`` seconds (or when finished).

        Args:
            timeout: seconds to wait; 0 polls.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while not self._queue:
                if self._reader_done or self._stopped:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            frame = self._queue.popleft()
            self._stats.delivered += 1
            self._cond.notify_all()  # wake a reader blocked on a full queue
            return frame

    def stop(self) -> None:
        """Stop the reader, join its thread and discard what is still queued (idempotent)."""
        self._stop.set()
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self._join_timeout)
            if thread.is_alive():
                log.warning("source %s: reader thread did not stop within %.1f s",
                            self.name, self._join_timeout)
        with self._cond:
            left = len(self._queue)
            self._queue.clear()
            self._stats.dropped += left
            self._stats.dropped_at_stop += left
            if self._stats.state not in ("finished", "failed"):
                self._stats.state = "finished"
            self._cond.notify_all()
        _RUNNING.discard(self)

    @property
    def finished(self) -> bool:
        """True once the source is exhausted, failed for good or stopped, and its queue is empty."""
        with self._cond:
            return (self._reader_done or self._stopped) and not self._queue

    @property
    def stats(self) -> SourceStats:
        """A consistent snapshot of the counters."""
        with self._cond:
            return replace(self._stats, queued=len(self._queue))

    def __enter__(self) -> Source:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, live={self.live})"

    @property
    def name(self) -> str:
        """The display id: events, CSV rows, metric labels and logs all carry it."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        # Redacted here, where every name is made or renamed, so no sink can ever carry a
        # credential whatever path the name took (a URL, a name= option, a #n suffix).
        self._name = redact(str(value))

    # ----------------------------------------------------------- for subclasses
    @abc.abstractmethod
    def _run(self) -> None:
        """Read until exhausted, failed or ``self._stopping``; call ``_emit`` for each image."""

    @property
    def _stopping(self) -> bool:
        return self._stop.is_set()

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopped; returns False when stop() interrupted the wait."""
        return not self._stop.wait(seconds)

    def _now(self) -> float:
        """Seconds since start(), the timestamp of live frames."""
        return time.monotonic() - self._t0

    def _emit(self, image: np.ndarray, t: float, decode_s: float = 0.0) -> bool:
        """Queue one decoded image as a Frame. Returns False once the source is stopping.

        Live sources drop the oldest queued frame when the queue is full; others block.
        ``decode_s`` is how long reading and decoding it took (conversion to BGR included).
        """
        t0 = time.perf_counter()
        image = to_bgr(image)
        decode_s += time.perf_counter() - t0
        with self._cond:
            if not self.live:
                # Back-pressure: wait for room before the frame counts as read, so that a
                # snapshot always satisfies read == delivered + dropped + queued.
                while len(self._queue) >= self._queue_size and not self._stopped:
                    self._cond.wait(0.5)
            if self._stopped:
                return False
            index = self._stats.read
            self._stats.read += 1
            if len(self._queue) >= self._queue_size:  # live only: drop the oldest
                self._queue.popleft()
                self._stats.dropped += 1
            self._queue.append(Frame(self.name, index, t, image, decode_s))
            self._cond.notify_all()
            return True

    def _set_state(self, state: str) -> None:
        with self._cond:
            if self._stats.state != state:
                log.info("source %s: %s -> %s", self.name, self._stats.state, state)
            self._stats.state = state

    def _error(self, message: str, *, count: bool = True) -> str:
        """Record a failure (scrubbed) and return the scrubbed message."""
        clean = " ".join(scrub_secrets(str(message), self._secrets).split())
        with self._cond:
            if count:
                self._stats.errors += 1
            self._stats.last_error = clean
        log.warning("source %s: %s", self.name, clean)
        return clean

    def _set_lag(self, lag_s: float) -> None:
        with self._cond:
            self._stats.lag_s = lag_s

    def _count_reconnect(self) -> None:
        with self._cond:
            self._stats.reconnects += 1

    def _count_connect(self) -> None:
        with self._cond:
            self._stats.connects += 1

    # ------------------------------------------------------------------ internals
    def _thread_main(self) -> None:
        try:
            self._run()
        except Exception as exc:  # a bug or an unexpected library error: fail this source only
            self._error(f"{type(exc).__name__}: {exc}")
            self._set_state("failed")
        finally:
            with self._cond:
                self._reader_done = True
                if self._stats.state not in ("finished", "failed"):
                    self._stats.state = "finished"
                self._cond.notify_all()
