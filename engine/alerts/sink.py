"""The alert sink: turns the pipeline's verdicts into alerts and hands them to the outboxes.

Three kinds (payloads in docs/ALERTS.md):

* ``verdict``: a stream's verdict changed, and each stream's final verdict at the end;
* ``fake_track``: a face track was judged fake, once per track (with a JPEG of the face when
  snapshots are on);
* ``state``: every ``state_every_s`` seconds, each stream's state (verdict, score, rates,
  tracks), and once more at the end.

Runs on the scheduler thread and never blocks it: :meth:`Outbox.put` only appends to a
bounded queue.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence

from engine.alerts.alert import FAKE_TRACK, STATE, VERDICT, Alert, node_name
from engine.alerts.outbox import Outbox
from engine.judge.verdicts import FAKE, UNCERTAIN
from engine.live.board import LiveBoard
from engine.sinks.base import Sink

log = logging.getLogger("engine.alerts")


class AlertSink(Sink):
    """Publish verdict changes, fake-track alerts and periodic state.

    Args:
        outboxes: one per destination (MQTT, webhook).
        board: the run's :class:`LiveBoard` (must come before this sink in the sink list):
            face snapshots and per-stream state are read from it.
        state_every_s: period of the ``state`` alerts (0 = only the final one).
        snapshots: attach a JPEG of the face to ``fake_track`` alerts.
    """

    def __init__(self, outboxes: Sequence[Outbox], board: LiveBoard,
                 state_every_s: float = 10.0, snapshots: bool = True) -> None:
        self.outboxes = list(outboxes)
        self.board = board
        self.state_every_s = state_every_s
        self.snapshots = snapshots
        self.node = node_name()
        self.streams: list[str] = []
        self._verdicts: dict[str, str] = {}
        self._alerted: set[tuple[str, int]] = set()
        self._next_state = 0.0
        self.closed_counts: dict[str, dict[str, int]] = {}
        # model_sha256 and threshold of the run (Pipeline.provenance), per stream where a
        # stream has its own threshold (Pipeline.stream_provenance): every alert carries them,
        # so that it can be traced to the model and threshold that raised it.
        self.provenance: dict = {}
        self.stream_provenance: dict[str, dict] = {}

    def _put(self, kind: str, stream: str, payload: dict, snapshot: bytes | None = None) -> None:
        stamp = self.stream_provenance.get(stream, self.provenance)
        payload = {"type": kind, "stream": stream, **stamp, **payload,
                   "node": self.node, "ts": round(time.time(), 3)}
        alert = Alert(kind, stream, payload, snapshot)
        for box in self.outboxes:
            box.put(alert)

    # ------------------------------------------------------------------ sink
    def open(self, streams: list[str]) -> None:
        self.streams = list(streams)
        self._verdicts = dict.fromkeys(streams, UNCERTAIN)
        for box in self.outboxes:
            opener = getattr(box.transport, "open", None)
            if opener is not None:
                opener(self.streams)

    def on_event(self, event) -> None:
        # The event's own JSON form: fields added to VerdictEvent travel along unchanged.
        fields = json.loads(event.to_json())
        fields.pop("stream", None)
        if event.track is None:
            previous = self._verdicts.get(event.stream, UNCERTAIN)
            if event.verdict == previous and not event.final:
                return
            self._verdicts[event.stream] = event.verdict
            self._put(VERDICT, event.stream, {**fields, "previous": previous})
            return
        key = (event.stream, event.track)
        if event.verdict != FAKE or key in self._alerted:
            return
        self._alerted.add(key)
        jpeg = self.board.face_jpeg(event.stream, event.track) if self.snapshots else None
        self._put(FAKE_TRACK, event.stream, {**fields, "snapshot": jpeg is not None}, jpeg)

    def on_tick(self, streams) -> None:
        if not self.state_every_s:
            return
        now = time.monotonic()
        if now < self._next_state:
            return
        self._next_state = now + self.state_every_s
        self._states()

    def _states(self) -> None:
        for name in self.streams:
            state = self.board.stream_state(name)
            if state is not None:
                state.pop("stream", None)
                self._put(STATE, name, state)

    def close(self, summary) -> None:
        self._states()  # the board has already taken the final summary (it comes first)
        for box in self.outboxes:
            self.closed_counts[box.name] = box.close()

    def counts(self) -> dict[str, dict[str, int]]:
        """Per destination: produced, sent, dropped, pending."""
        return {box.name: box.counts() for box in self.outboxes}
