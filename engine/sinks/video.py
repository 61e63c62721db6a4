"""Annotated output video: boxes, track ids, p_fake and verdicts drawn on each processed frame.

OpenCV's bundled FFmpeg cannot encode H.264, so the writer uses MPEG-4 Part 2 (``mp4v``) for
``.mp4``/``.m4v``/``.mov`` and Motion-JPEG for ``.avi``/``.mkv``. With several streams, each
gets its own file: ``out.mp4`` becomes ``out-0-<stream>.mp4``, ``out-1-<stream>.mp4``, ...
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import cv2
import numpy as np

from engine.errors import UsageError
from engine.sinks.base import FrameView, Sink, TrackView
from engine.sinks.target import check_output

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}
COLOURS = {"fake": (0, 0, 255), "real": (0, 200, 0), "uncertain": (0, 215, 255)}  # BGR
UNCONFIRMED = (160, 160, 160)  # grey: a track that does not vote
DEFAULT_FPS = 25.0


def _score(score: float) -> str:
    return "" if math.isnan(score) else f" score={score:.2f}"


def track_label(track: TrackView) -> str:
    """A box's label: the track's verdict and the voting score that decided it (never a single
    frame's p_fake, which can sit on the other side of the threshold from the verdict)."""
    if not track.confirmed:
        return f"#{track.id} unconfirmed"
    return f"#{track.id} {track.verdict}{_score(track.p_fake)}"


def stream_video_path(path: Path, index: int, stream: str, n_streams: int) -> Path:
    """The output file of one stream (the path itself when there is only one stream)."""
    if n_streams == 1:
        return path
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(stream).stem or stream)[:40] or "stream"
    return path.with_name(f"{path.stem}-{index}-{safe}{path.suffix}")


def _label(image: np.ndarray, text: str, org: tuple[int, int], colour, scale: float,
           thick: int) -> None:
    """Text on a dark box so it stays readable on any background."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x, y = org
    y = max(th + base + 2, y)
    cv2.rectangle(image, (x, y - th - base - 2), (x + tw + 4, y + 2), (0, 0, 0), cv2.FILLED)
    cv2.putText(image, text, (x + 2, y - base + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, colour,
                thick, cv2.LINE_AA)


def draw(view: FrameView) -> np.ndarray:
    """A copy of the frame with the tracks and the stream verdict drawn on it."""
    image = view.image.copy()
    h, w = image.shape[:2]
    scale = max(0.45, min(w, h) / 800.0)
    thick = max(1, int(round(1.5 * scale)))
    for tr in view.tracks:
        colour = COLOURS.get(tr.verdict, COLOURS["uncertain"]) if tr.confirmed else UNCONFIRMED
        x1, y1, x2, y2 = (int(round(v)) for v in tr.box)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, 2 * thick if tr.fresh else 1)
        _label(image, track_label(tr), (x1, y1 - 4), colour, scale, thick)
    colour = COLOURS.get(view.verdict, COLOURS["uncertain"])
    _label(image, f"{view.stream} t={view.t:.2f}s stream: {view.verdict}{_score(view.p_fake)}",
           (4, 4), colour, scale, thick)
    return image


class _StreamWriter:
    """Opens lazily: the frame rate is estimated from the first two timestamps."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: cv2.VideoWriter | None = None
        self.size: tuple[int, int] | None = None
        self.pending: list[tuple[float, np.ndarray]] = []
        self.frames = 0

    def write(self, t: float, image: np.ndarray) -> None:
        if self.writer is not None:
            self._write(image)
            return
        self.pending.append((t, image))
        if len(self.pending) < 2:
            return
        self._open()
        for _, img in self.pending:
            self._write(img)
        self.pending = []

    def _open(self) -> None:
        (t0, first), (t1, _) = self.pending[0], self.pending[1]
        fps = 1.0 / (t1 - t0) if 0.001 < (t1 - t0) < 2.0 else DEFAULT_FPS
        h, w = first.shape[:2]
        # Most codecs want even dimensions; odd-size frames are padded by one pixel.
        self.size = (w + (w % 2), h + (h % 2))
        fourcc = cv2.VideoWriter_fourcc(*FOURCC.get(self.path.suffix.lower(), "mp4v"))
        self.writer = cv2.VideoWriter(str(self.path), fourcc, float(fps), self.size)
        if not self.writer.isOpened():
            raise UsageError(f"cannot open {self.path} for writing video")

    def _write(self, image: np.ndarray) -> None:
        assert self.writer is not None and self.size is not None
        w, h = self.size
        if image.shape[1] != w or image.shape[0] != h:
            ih, iw = image.shape[:2]
            if iw <= w and ih <= h and (w - iw) <= 1 and (h - ih) <= 1:
                image = cv2.copyMakeBorder(image, 0, h - ih, 0, w - iw, cv2.BORDER_REPLICATE)
            else:  # an image folder with mixed sizes: fit every frame to the first one
                image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        # OpenCV 5 returns False when FFmpeg could not write (a full disk); 4.x returns None.
        if self.writer.write(image) is False:
            raise OSError(f"cannot write video frame {self.frames} to {self.path} "
                          "(disk full or the file became unwritable)")
        self.frames += 1

    def close(self) -> None:
        if self.writer is None and self.pending:
            # A single frame: still write a (one-frame) video.
            self.pending.append((self.pending[0][0] + 1.0 / DEFAULT_FPS, self.pending[0][1]))
            self._open()
            self._write(self.pending[0][1])
            self.pending = []
        if self.writer is not None:
            self.writer.release()
            self.writer = None


class AnnotatedVideoSink(Sink):
    """Writes an annotated copy of each stream's processed frames.

    Args:
        path: output file (``.mp4`` -> mp4v, ``.avi`` -> MJPG).
    """

    wants_frames = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in FOURCC:
            raise UsageError(
                f"annotated video must end in one of {', '.join(sorted(FOURCC))}: {self.path}"
            )
        # FFmpeg seeks back into a video file: a device or a pipe cannot take one.
        self.target = check_output(self.path, "--annotate", special_ok=False)
        self._writers: dict[int, _StreamWriter] = {}
        self._names: list[str] = []

    @property
    def paths(self) -> list[Path]:
        """Files written (or being written), one per stream."""
        return [w.path for _, w in sorted(self._writers.items())]

    def open(self, streams: list[str]) -> None:
        self._names = list(streams)
        self.target.probe()  # an unwritable folder: UsageError before the first frame

    def on_frame(self, view: FrameView) -> None:
        writer = self._writers.get(view.stream_index)
        if writer is None:
            n = max(len(self._names), 1)
            writer = _StreamWriter(stream_video_path(self.path, view.stream_index, view.stream, n))
            self._writers[view.stream_index] = writer
        writer.write(view.t, draw(view))

    def close(self, summary) -> None:
        for writer in self._writers.values():
            writer.close()
