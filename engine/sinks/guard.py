"""Faults stay local: an output that fails is given up, reported, and the screening goes on.

A full disk under ``--events`` used to end every stream with a traceback after 11 frames. An
output is a side product of the screening: when writing one fails (no space, a device error,
a folder that went away), :class:`GuardedSink` reports it once (one stderr line, a count on
``/metrics``), stops calling that sink, and records the loss in the run's summary, whose exit
code then says 1 (unless a fake was found: a lost file never hides a fake). The other sinks
and every stream carry on.

Start-time failures (:meth:`Sink.open`: a folder given as a file, an unwritable path) are not
guarded: they are usage errors, reported before any frame is read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from engine.judge.records import RunSummary, VerdictEvent
from engine.sinks.base import FrameView, Sink

log = logging.getLogger("engine.sinks")


class OutputFaults:
    """The outputs lost during one run, shared by its guarded sinks.

    Args:
        registry: a :class:`~engine.metrics.Registry` to count the losses on
            (``deepscreen_output_failures_total{output=...}``); None counts them here only.
    """

    def __init__(self, registry=None) -> None:
        self.lost: dict[str, str] = {}
        self._lock = threading.Lock()
        self._counter = None
        if registry is not None:
            self._counter = registry.counter(
                "deepscreen_output_failures_total",
                "Outputs given up after a failed write (disk full, unwritable); the "
                "screening goes on without them.", ["output"])

    def report(self, output: str, exc: BaseException) -> str:
        """Record that ``output`` was lost because of ``exc``; returns the one-line message."""
        reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) \
            or type(exc).__name__
        message = f"output {output} lost: {' '.join(reason.split())}"
        with self._lock:
            first = output not in self.lost
            self.lost.setdefault(output, message)
        if first:
            log.error("%s; screening goes on without it", message)
            if self._counter is not None:
                self._counter.inc(output=output)
        return message

    def health(self, inner: Callable[[], tuple[bool, dict]]) -> Callable[[], tuple[bool, dict]]:
        """``inner`` (the pipeline's health, for ``/healthz``) with the outputs lost so far.

        Each lost output is added under ``details["lost_outputs"]`` (how the user named it ->
        the one-line report), which makes ``/healthz`` degraded (see
        :meth:`engine.metrics.MetricsServer.health_answer`): the run goes on, but an operator
        must learn that its events or video are no longer written before the run ends.
        Both are redacted, like every other text the server answers with.
        """
        from engine.sources.scrub import redact

        def health() -> tuple[bool, dict]:
            ok, details = inner()
            with self._lock:
                lost = dict(self.lost)
            if lost:
                details = {**details, "lost_outputs": {redact(output): redact(message)
                                                       for output, message in lost.items()}}
            return ok, details

        return health


class GuardedSink(Sink):
    """Wraps a file sink so that its failures cost that output only.

    Args:
        inner: the sink (JSON Lines, CSV, video).
        output: how the user named it (``--events out.jsonl``), for the report.
        faults: the run's :class:`OutputFaults`.
    """

    def __init__(self, inner: Sink, output: str, faults: OutputFaults) -> None:
        self.inner = inner
        self.output = output
        self.faults = faults
        self.wants_frames = inner.wants_frames
        self.failed = False

    def _fail(self, exc: Exception) -> None:
        self.failed = True
        self.faults.report(self.output, exc)

    def open(self, streams: list[str]) -> None:
        self.inner.open(streams)  # start-time checks raise (usage errors), unguarded

    def on_event(self, event: VerdictEvent) -> None:
        if not self.failed:
            try:
                self.inner.on_event(event)
            except Exception as exc:  # any failure of this output is this output's loss
                self._fail(exc)

    def on_prediction(self, stream: str, track: int, frame_index: int, t: float,
                      p_fake: float) -> None:
        if not self.failed:
            try:
                self.inner.on_prediction(stream, track, frame_index, t, p_fake)
            except Exception as exc:
                self._fail(exc)

    def on_crop(self, stream: str, item, p_fake: float, confirmed: bool, hits: int) -> None:
        if not self.failed:
            try:
                self.inner.on_crop(stream, item, p_fake, confirmed, hits)
            except Exception as exc:
                self._fail(exc)

    def on_frame(self, view: FrameView) -> None:
        if not self.failed:
            try:
                self.inner.on_frame(view)
            except Exception as exc:
                self._fail(exc)

    def on_tick(self, streams) -> None:
        if not self.failed:
            try:
                self.inner.on_tick(streams)
            except Exception as exc:
                self._fail(exc)

    def close(self, summary: RunSummary) -> None:
        try:
            self.inner.close(summary)  # also after a failure: release files and writers
        except Exception as exc:
            if not self.failed:
                self._fail(exc)
        if self.failed:
            summary.lost_outputs.append(self.faults.lost[self.output])
