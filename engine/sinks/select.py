"""A sink that receives one stream only: the per-stream outputs of a config file.

A security team wants each camera's events in its own file (its own retention, its own reader);
the scheduler hands every sink every stream, so this wrapper forwards only the calls that
belong to its stream and shows the wrapped sink a run of that stream alone.
"""

from __future__ import annotations

from dataclasses import replace

from engine.sinks.base import Sink


class StreamOnly(Sink):
    """Forward to ``sink`` what concerns ``stream``; drop the rest.

    Args:
        sink: any sink (a guarded file output, typically).
        stream: the stream's name (as the scheduler labels it).
    """

    def __init__(self, sink: Sink, stream: str) -> None:
        self.sink = sink
        self.stream = stream
        self.wants_frames = sink.wants_frames

    def open(self, streams: list[str]) -> None:
        self.sink.open([s for s in streams if s == self.stream])

    def on_event(self, event) -> None:
        if event.stream == self.stream:
            self.sink.on_event(event)

    def on_prediction(self, stream, track, frame_index, t, p_fake) -> None:
        if stream == self.stream:
            self.sink.on_prediction(stream, track, frame_index, t, p_fake)

    def on_crop(self, stream, item, p_fake, confirmed, hits) -> None:
        if stream == self.stream:
            self.sink.on_crop(stream, item, p_fake, confirmed, hits)

    def on_frame(self, view) -> None:
        if view.stream == self.stream:
            self.sink.on_frame(view)

    def on_tick(self, streams) -> None:
        self.sink.on_tick([s for s in streams if s.stream == self.stream])

    def close(self, summary) -> None:
        self.sink.close(replace(summary, streams=[s for s in summary.streams
                                                  if s.stream == self.stream]))

    def __getattr__(self, name: str):
        # Guarded outputs report their faults through attributes of the wrapped sink.
        return getattr(self.sink, name)
