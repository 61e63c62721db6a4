"""The sink interface: where verdict events, annotated frames and summaries go."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.judge.records import FrameView, TrackView  # their home; re-exported for sinks

if TYPE_CHECKING:
    from engine.judge.records import RunSummary, StreamSummary, VerdictEvent

__all__ = ["FrameView", "Sink", "TrackView"]


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

    def on_crop(self, stream: str, item, p_fake: float, confirmed: bool, hits: int) -> None:
        """One crop was classified, with everything known about it (for evaluations):
        ``item`` is its :class:`~engine.batching.CropItem` (``item.quality`` its
        :class:`~engine.judge.quality.CropQuality`; ``item.crop`` must not be kept)."""

    def on_frame(self, view: FrameView) -> None:
        """A frame was processed (only when :attr:`wants_frames`)."""

    def on_tick(self, streams: list[StreamSummary]) -> None:
        """Periodic snapshot of the per-stream counters (for live views)."""

    def close(self, summary: RunSummary) -> None:
        """The run ended (normally, by a signal, or by an error): write what is left."""
