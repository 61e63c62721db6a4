"""The sink interface: where verdict events, annotated frames and summaries go."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from engine.verdicts import UNCERTAIN

if TYPE_CHECKING:  # the pipeline imports this module: no import cycle at run time
    from engine.pipeline.summary import RunSummary, StreamSummary
    from engine.vote import VerdictEvent


@dataclass(frozen=True)
class TrackView:
    """What is known about one track when a frame is shown.

    Attributes:
        id: track id within its stream.
        box: current box (frame pixels).
        p_fake: the track voter's latest score (NaN before any classification).
        verdict: the track's verdict so far.
        fresh: matched by the latest detector run.
    """

    id: int
    box: tuple[float, float, float, float]
    p_fake: float
    verdict: str
    fresh: bool = True


@dataclass(frozen=True)
class FrameView:
    """One processed frame with the tracks drawn on it (for annotated video).

    Verdicts are the latest known when the frame is processed: the classifier works on
    batches, so a face's score shows up a few frames after the frame it came from.
    """

    stream: str
    stream_index: int
    index: int
    t: float
    image: np.ndarray = field(repr=False)
    tracks: tuple[TrackView, ...] = ()
    verdict: str = UNCERTAIN
    p_fake: float = float("nan")


class Sink:
    """Base sink; override what you need. Called from the scheduler thread only."""

    #: True when the sink needs :meth:`on_frame` (building a FrameView costs a little).
    wants_frames = False

    def open(self, streams: list[str]) -> None:
        """Called once before the first frame with the scrubbed stream names."""

    def on_event(self, event: VerdictEvent) -> None:
        """A verdict changed (or a final verdict was reached)."""

    def on_prediction(self, stream: str, track: int, frame_index: int, t: float,
                      p_fake: float) -> None:
        """One face crop was classified (frame-level probability, before any voting)."""

    def on_frame(self, view: FrameView) -> None:
        """A frame was processed (only when :attr:`wants_frames`)."""

    def on_tick(self, streams: list[StreamSummary]) -> None:
        """Periodic snapshot of the per-stream counters (for live views)."""

    def close(self, summary: RunSummary) -> None:
        """The run ended (normally, by a signal, or by an error): write what is left."""
