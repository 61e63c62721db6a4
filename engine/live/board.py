"""The live board: what a person watching a run wants to know now, per stream.

One :class:`LiveBoard` sink collects, per stream, the verdict, the score over time, the tracks
with their latest p_fake, verdict and face crop, the processing rate and the drops. The web page
(:mod:`engine.web`) renders its :meth:`~LiveBoard.snapshot`; the alert sink
(:mod:`engine.alerts`) reads face snapshots and per-stream state from it. The pipeline calls it
from its scheduler thread; readers (HTTP threads, alert workers) only take snapshots under a
lock, so a slow reader never slows the screening.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from engine.crops import visible_square_crop
from engine.judge.records import StreamSummary
from engine.judge.verdicts import UNCERTAIN
from engine.sinks.base import FrameView, Sink

# A face crop shown on a page or sent as a snapshot: small enough for a phone, big enough to see.
CROP_SIDE = 160
CROP_MARGIN = 0.25
JPEG_QUALITY = 85


def _num(value: float) -> float | None:
    """JSON has no NaN: unknown scores travel as null."""
    return None if value is None or math.isnan(value) else round(float(value), 4)


def encode_face(image: np.ndarray, box: tuple[float, float, float, float],
                side: int = CROP_SIDE) -> bytes | None:
    """A square JPEG of the face at ``box`` (None when the box has left the image)."""
    crop = visible_square_crop(image, box, margin=CROP_MARGIN)
    if crop is None or crop.size == 0:
        return None
    crop = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return buf.tobytes() if ok else None


@dataclass
class TrackInfo:
    """One face track as the board sees it."""

    id: int
    p_fake: float = float("nan")
    verdict: str = UNCERTAIN
    confirmed: bool = True
    box: tuple[float, float, float, float] | None = None
    visible: bool = True
    last_seen: float = 0.0  # wall clock
    jpeg: bytes | None = field(default=None, repr=False)
    jpeg_version: int = 0

    def to_dict(self) -> dict:
        return {
            "track": self.id, "p_fake": _num(self.p_fake), "verdict": self.verdict,
            "confirmed": self.confirmed, "visible": self.visible,
            "crop": self.jpeg_version if self.jpeg is not None else None,
        }


@dataclass
class StreamBoard:
    """One stream's live state.

    The counters, the source's state and the no-decision reason are those of the latest
    :class:`StreamSummary` the pipeline ticked (``summary``, kept whole rather than copied field
    by field); the verdict and score are newer when a stream event came after that tick.
    """

    name: str
    summary: StreamSummary = field(init=False)
    verdict: str = UNCERTAIN
    p_fake: float = float("nan")
    fps: float = 0.0
    last_t: float = 0.0
    history: deque = field(default_factory=lambda: deque(maxlen=600))  # (t, score, crop mean)
    _crop_sum: float = 0.0
    _crop_n: int = 0
    tracks: dict[int, TrackInfo] = field(default_factory=dict)
    frame: np.ndarray | None = field(default=None, repr=False)
    _rate_at: tuple[float, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.summary = StreamSummary(self.name)  # nothing counted before the first tick

    def to_dict(self, with_history: bool = True) -> dict:
        s = self.summary
        d = {
            "stream": self.name, "verdict": self.verdict, "p_fake": _num(self.p_fake),
            "state": s.state, "fps": round(self.fps, 2), "read": s.read,
            "processed": s.processed, "dropped": s.dropped,
            "classified": s.classified, "t": round(self.last_t, 3), "reason": s.reason,
            "tracks": [t.to_dict() for t in sorted(self.tracks.values(), key=lambda t: t.id)
                       if t.confirmed],
        }
        if with_history:
            d["history"] = [[round(w, 2), _num(p), _num(c)] for w, p, c in self.history]
        return d


class LiveBoard(Sink):
    """A sink that keeps the live per-stream picture for the web page and the alerts.

    Args:
        crops: keep a JPEG face crop per visible track (refreshed every ``crop_every_s``).
        crop_every_s: how often track crops are re-encoded (costs ~1 ms per face).
        sample_every_s: spacing of the score-over-time samples.
        history: samples kept per stream (600 at 1 s = the last 10 minutes).
        keep_gone_s: how long a track that left the picture stays on the board.
    """

    wants_frames = True

    def __init__(self, crops: bool = True, crop_every_s: float = 1.0,
                 sample_every_s: float = 1.0, history: int = 600,
                 keep_gone_s: float = 30.0) -> None:
        self.crops = crops
        self.crop_every_s = crop_every_s
        self.sample_every_s = sample_every_s
        self.history = history
        self.keep_gone_s = keep_gone_s
        self.streams: dict[str, StreamBoard] = {}
        self.version = 0  # bumped on every change a page would show
        self.t0 = time.time()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._next_sample = 0.0
        self._next_crops = 0.0
        self.closed = False

    # ------------------------------------------------------------------ sink
    def open(self, streams: list[str]) -> None:
        with self._lock:
            for name in streams:
                self.streams[name] = StreamBoard(name, history=deque(maxlen=self.history))
            self._bump()

    def on_event(self, event) -> None:
        with self._lock:
            sb = self.streams.get(event.stream)
            if sb is None:
                return
            if event.track is None:
                sb.verdict, sb.p_fake = event.verdict, event.p_fake
            else:
                tr = sb.tracks.setdefault(event.track, TrackInfo(event.track))
                tr.verdict, tr.p_fake = event.verdict, event.p_fake
                if event.final:
                    tr.visible = False
            self._bump()

    def on_prediction(self, stream: str, track: int, frame_index: int, t: float,
                      p_fake: float) -> None:
        with self._lock:
            sb = self.streams.get(stream)
            if sb is not None and not math.isnan(p_fake):
                sb._crop_sum += p_fake
                sb._crop_n += 1

    def on_frame(self, view: FrameView) -> None:
        now = time.time()
        with self._lock:
            sb = self.streams.get(view.stream)
            if sb is None:
                return
            sb.frame = view.image  # a reference: the source hands over a new array per frame
            sb.last_t = view.t
            seen = set()
            for tv in view.tracks:
                tr = sb.tracks.setdefault(tv.id, TrackInfo(tv.id))
                tr.box, tr.visible, tr.last_seen = tv.box, True, now
                tr.confirmed = bool(getattr(tv, "confirmed", True))
                if not math.isnan(tv.p_fake):
                    tr.p_fake = tv.p_fake
                tr.verdict = tv.verdict
                seen.add(tv.id)
            for tr in sb.tracks.values():
                if tr.id not in seen:
                    tr.visible = False

    def on_tick(self, streams) -> None:
        now = time.time()
        sample = now >= self._next_sample
        if sample:
            self._next_sample = now + self.sample_every_s
        refresh = self.crops and now >= self._next_crops
        if refresh:
            self._next_crops = now + self.crop_every_s
        with self._lock:
            for s in streams:
                sb = self.streams.get(s.stream)
                if sb is None:
                    continue
                sb.summary, sb.verdict, sb.p_fake = s, s.verdict, s.p_fake
                if sb._rate_at is None:
                    sb._rate_at = (now, s.processed)
                elif now - sb._rate_at[0] >= 1.0:
                    sb.fps = (s.processed - sb._rate_at[1]) / (now - sb._rate_at[0])
                    sb._rate_at = (now, s.processed)
                if sample:  # the stream's score, and the mean crop p_fake since the last sample
                    mean = sb._crop_sum / sb._crop_n if sb._crop_n else float("nan")
                    sb.history.append((now - self.t0, s.p_fake, mean))
                    sb._crop_sum, sb._crop_n = 0.0, 0
                for tid in [t.id for t in sb.tracks.values()
                            if not t.visible and now - t.last_seen > self.keep_gone_s]:
                    del sb.tracks[tid]
                if refresh and sb.frame is not None:
                    for tr in sb.tracks.values():
                        if tr.visible and tr.box is not None:
                            jpeg = encode_face(sb.frame, tr.box)
                            if jpeg is not None:
                                tr.jpeg, tr.jpeg_version = jpeg, tr.jpeg_version + 1
            if sample or refresh:
                self._bump()

    def close(self, summary) -> None:
        with self._lock:
            for s in summary.streams:
                sb = self.streams.get(s.stream)
                if sb is not None:
                    sb.summary, sb.verdict, sb.p_fake = s, s.verdict, s.p_fake
                    sb.fps, sb.frame = 0.0, None  # let the last frames go
            self.closed = True
            self._bump()

    # --------------------------------------------------------------- readers
    def _bump(self) -> None:
        self.version += 1
        self._changed.notify_all()

    def wait_change(self, version: int, timeout: float) -> int:
        """Block until the board changed past ``version`` (or ``timeout``); the new version."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != version, timeout=timeout)
            return self.version

    def snapshot(self, with_history: bool = True) -> dict:
        """Everything on the board as JSON-able data (verdicts, tracks, rates, history)."""
        with self._lock:
            return {
                "version": self.version, "running": not self.closed,
                "time": round(time.time() - self.t0, 2),
                "streams": [sb.to_dict(with_history) for sb in self.streams.values()],
            }

    def stream_state(self, name: str) -> dict | None:
        """One stream's state without its history (the alerts' periodic state)."""
        with self._lock:
            sb = self.streams.get(name)
            return sb.to_dict(with_history=False) if sb is not None else None

    def crop_jpeg(self, name: str, track: int) -> bytes | None:
        """The latest stored face crop of a track (None when there is none)."""
        with self._lock:
            sb = self.streams.get(name)
            tr = sb.tracks.get(track) if sb is not None else None
            return tr.jpeg if tr is not None else None

    def face_jpeg(self, name: str, track: int) -> bytes | None:
        """A face crop of a track encoded now from the stream's latest frame (or the stored one).

        For alert snapshots: the verdict arrives a batch after the frame, so the latest frame
        shows the same face a few frames later.
        """
        with self._lock:
            sb = self.streams.get(name)
            tr = sb.tracks.get(track) if sb is not None else None
            if tr is None:
                return None
            frame, box, stored = sb.frame, tr.box, tr.jpeg
        if frame is not None and box is not None:
            jpeg = encode_face(frame, box)
            if jpeg is not None:
                return jpeg
        return stored

