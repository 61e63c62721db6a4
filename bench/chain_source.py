"""One stream made of several video files played back to back (no re-encoding).

The onset benchmark plays each DeepFaceLive demo as its real half followed by its swap half:
the same person in the same scene, so the face track runs on across the switch and the engine
has to notice a swap switched on in the middle of a track it has already judged. Frames keep
their own decoded pixels; timestamps and indices run on across the files, and
:attr:`ChainedVideoSource.starts` says at which media time each file began.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import cv2

from engine.errors import InputError
from engine.sources.base import Source


class ChainedVideoSource(Source):
    """Files read one after the other as one finite (lossless) stream.

    Args:
        paths: the files, in playing order.
        name: the stream's display name (default: the file names joined by ``+``).
        queue_size: frames buffered ahead of the consumer.
        take: at most this many frames of each file (None, or a None entry: all of it).

    Attributes:
        fps: the first file's frame rate (the stream's nominal rate).
        starts: media time (seconds) at which each file's first frame plays; filled in as the
            files are read, complete once the source finished.
    """

    def __init__(self, paths: Sequence[str | Path], name: str | None = None,
                 queue_size: int = 8, take: Sequence[int | None] | None = None) -> None:
        self.paths = [Path(p) for p in paths]
        self.take = list(take) if take is not None else [None] * len(self.paths)
        if len(self.take) != len(self.paths):
            raise InputError("take needs one entry per file")
        if not self.paths:
            raise InputError("a chained source needs at least one file")
        super().__init__(name or "+".join(p.name for p in self.paths), live=False,
                         queue_size=queue_size)
        rates = []
        for path in self.paths:
            cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
            ok = cap.isOpened()
            rates.append(float(cap.get(cv2.CAP_PROP_FPS) or 0.0) if ok else 0.0)
            cap.release()
            if not ok:
                raise InputError(f"cannot open video {path}")
        self.rates = rates
        self.fps = rates[0]
        self.starts: list[float] = []

    def _run(self) -> None:
        self._set_state("streaming")
        offset = 0.0
        for path, fps, most in zip(self.paths, self.rates, self.take, strict=True):
            step = 1.0 / fps if fps > 0 else 1.0 / 25.0
            cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
            self.starts.append(offset)
            local = 0
            try:
                while not self._stopping and (most is None or local < most):
                    t_read = time.perf_counter()
                    ok, image = cap.read()
                    decode_s = time.perf_counter() - t_read
                    if not ok or image is None:
                        break
                    # The nominal rate, not the container's clock: the halves of a demo share
                    # one, and an exact grid keeps the switch time exact.
                    if not self._emit(image, offset + local * step, decode_s):
                        return
                    local += 1
            finally:
                cap.release()
            if local == 0:
                self._error(f"no frame could be decoded from {path.name}")
                self._set_state("failed")
                return
            offset += local * step
        self._set_state("finished")
