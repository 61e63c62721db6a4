"""Finite, lossless sources: a video file and a folder of images."""

from __future__ import annotations

import re
import time
from pathlib import Path

import cv2
import numpy as np

from engine.errors import InputError
from engine.io.images import IMAGE_SUFFIXES, decode_image
from engine.sources.base import Source, to_bgr


def _natural_key(path: Path) -> list[object]:
    # frame2.png sorts before frame10.png, as a person numbering frames expects.
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", path.name)]


class _Pacer:
    """Sleeps so that media time advances no faster than wall time (``realtime=True``)."""

    def __init__(self, source: Source, enabled: bool):
        self._source = source
        self._enabled = enabled
        self._wall0: float | None = None
        self._media0 = 0.0

    def wait(self, t: float) -> bool:
        if not self._enabled:
            return True
        if self._wall0 is None:
            self._wall0, self._media0 = time.monotonic(), t
            return True
        delay = (t - self._media0) - (time.monotonic() - self._wall0)
        return self._source._sleep(delay) if delay > 0 else True


class VideoFileSource(Source):
    """A video file read with OpenCV/FFmpeg: lossless, timestamps from the container.

    A file that stops decoding before the frame count its container announces ends with state
    "failed" and ``last_error`` saying how far it got (truncated or corrupt file).

    Args:
        path: the video file.
        queue_size: frames buffered ahead of the consumer.
        loop: start again at the end (timestamps and indices keep increasing); for soak tests.
        realtime: pace reading at the media frame rate, as a camera would deliver it.
    """

    def __init__(self, path: str | Path, *, queue_size: int = 8, loop: bool = False,
                 realtime: bool = False):
        self.path = Path(path)
        super().__init__(self.path.name, live=False, queue_size=queue_size)
        self._loop = loop
        self._realtime = realtime
        # Probe now so that a file that cannot be opened fails at once, with one clear line.
        self._cap: cv2.VideoCapture | None = self._open()
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = count if count > 0 else None

    def _open(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise InputError(
                f"cannot open video {self.path}: not a video FFmpeg can decode "
                "(corrupt, truncated or unsupported)"
            )
        return cap

    def stop(self) -> None:
        """Stop the reader; also releases the probe capture of a source never started."""
        super().stop()
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()

    def _timestamp(self, cap: cv2.VideoCapture, local_index: int, last_t: float) -> float:
        pos = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if pos > last_t or (local_index == 0 and pos >= 0):
            return pos
        # Some containers report no position: fall back to the nominal frame rate.
        return local_index / self.fps if self.fps > 0 else float(local_index)

    def _run(self) -> None:
        self._set_state("streaming")
        pacer = _Pacer(self, self._realtime)
        offset = 0.0  # media time of the start of the current loop pass
        cap = self._cap
        self._cap = None
        try:
            while not self._stopping:
                if cap is None:
                    cap = self._open()
                local, last_t = 0, -1.0
                while not self._stopping:
                    t_read = time.perf_counter()
                    ok, image = cap.read()
                    decode_s = time.perf_counter() - t_read
                    if not ok or image is None:
                        break
                    last_t = self._timestamp(cap, local, last_t)
                    local += 1
                    if not pacer.wait(offset + last_t):
                        return
                    if not self._emit(image, offset + last_t, decode_s):
                        return
                cap.release()
                cap = None
                if self._stopping:
                    return
                if local == 0:
                    self._error(f"no frame could be decoded from {self.path.name}")
                    self._set_state("failed")
                    return
                expected = self.frame_count
                if expected is not None and local < expected - max(2, expected // 100):
                    self._error(
                        f"{self.path.name} stopped decoding after {local} of {expected} frames "
                        "(truncated or corrupt file)"
                    )
                    self._set_state("failed")
                    return
                if not self._loop:
                    self._set_state("finished")
                    return
                step = 1.0 / self.fps if self.fps > 0 else 1.0
                offset += last_t + step
        finally:
            if cap is not None:
                cap.release()


class ImageFolderSource(Source):
    """Images of a folder (or one image) in natural name order, as frames of a video: lossless.

    Unreadable files are skipped and counted in ``stats.errors``; grayscale, BGRA and 16-bit
    images are converted to BGR uint8, and sizes may differ from image to image. An image
    larger than :data:`~engine.io.images.MAX_IMAGE_PIXELS` is scaled down while decoding, or
    skipped with an error when even that would take too much memory.

    Args:
        path: the folder (not recursive), or a single image file.
        queue_size: frames buffered ahead of the consumer.
        fps: frame rate used for the timestamps ``t = index / fps``.
        loop: start again after the last image.
        realtime: pace reading at ``fps``.
    """

    def __init__(self, path: str | Path, *, queue_size: int = 8, fps: float = 25.0,
                 loop: bool = False, realtime: bool = False):
        self.path = Path(path)
        super().__init__(self.path.name or str(self.path), live=False, queue_size=queue_size)
        if fps <= 0:
            raise InputError(f"fps must be positive, got {fps}")
        if self.path.is_file():  # a single image: a one-frame source
            self.files = [self.path]
        else:
            self.files = sorted(
                (p for p in self.path.iterdir()
                 if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                key=_natural_key,
            )
        if not self.files:
            raise InputError(
                f"no images in folder {self.path} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        self.fps = fps
        self._loop = loop
        self._realtime = realtime

    def _run(self) -> None:
        self._set_state("streaming")
        pacer = _Pacer(self, self._realtime)
        index = 0
        while not self._stopping:
            decoded = 0
            for path in self.files:
                if self._stopping:
                    return
                # IMREAD_UNCHANGED keeps 16-bit and alpha so to_bgr converts them on purpose.
                t_read = time.perf_counter()
                try:
                    # Bounded: a huge image is scaled down or refused, never decoded whole.
                    image = decode_image(np.fromfile(path, dtype=np.uint8), path.name,
                                         cv2.IMREAD_UNCHANGED)
                except (InputError, OSError) as exc:  # this image only: the folder goes on
                    self._error(str(exc) if isinstance(exc, InputError)
                                else f"cannot read image {path.name}: {exc.strerror or exc}")
                    continue
                decode_s = time.perf_counter() - t_read
                try:
                    image = to_bgr(image)
                except ValueError as exc:
                    self._error(f"cannot use image {path.name}: {exc}")
                    continue
                t = index / self.fps
                if not pacer.wait(t) or not self._emit(image, t, decode_s):
                    return
                index += 1
                decoded += 1
            if decoded == 0:
                self._error(f"no image in {self.path.name} could be decoded")
                self._set_state("failed")
                return
            if not self._loop:
                self._set_state("finished")
                return
