"""Live sources: RTSP and HTTP(S) streams and webcams, with timeouts and reconnection.

A live source never falls behind: when the consumer is slow the oldest queued frame is
dropped (and counted). When the camera goes away, stops sending (a stall: no frame within
``read_timeout``) or cannot be reached, the reader releases the capture and reopens it after
an exponential backoff, forever by default, or until ``max_retries`` consecutive failures or
``give_up_after`` seconds without a frame (then state "failed": a run whose other sources are
done can end, with exit code 1).
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass

import cv2

from engine.errors import UsageError
from engine.sources.base import Source

_ENV_LOCK = threading.Lock()


def _prepare_ffmpeg_env() -> None:
    """Ask OpenCV's FFmpeg backend for RTSP over TCP (reliable on lossy links, no UDP ports).

    The variable is read by OpenCV at each open; a value set by the user wins.
    """
    with _ENV_LOCK:
        os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff between reconnection attempts.

    The n-th consecutive retry (n = 0, 1, ...) waits ``min(max_s, base_s * factor**n)``
    seconds, spread by +-``jitter`` (a fraction) so that many cameras behind one failed
    switch do not reconnect in lock-step.
    """

    base_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.base_s < 0 or self.factor < 1 or self.max_s < 0 or not 0 <= self.jitter < 1:
            raise UsageError(
                "backoff needs base_s >= 0, factor >= 1, max_s >= 0 and 0 <= jitter < 1"
            )

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        delay = min(self.max_s, self.base_s * self.factor ** min(attempt, 64))
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, delay * (1.0 + spread))


class LiveSource(Source):
    """A camera or stream read through OpenCV, reconnecting when it fails.

    Args:
        target: what ``cv2.VideoCapture`` opens: a URL or a webcam index / device path.
        name: display id (already scrubbed).
        secrets: credential strings to remove from any error text.
        queue_size: frames buffered; the oldest is dropped when full.
        open_timeout: seconds allowed to connect and read stream headers (FFmpeg only).
        read_timeout: seconds without a frame before the stream counts as stalled.
        backoff: delays between reconnection attempts.
        max_retries: consecutive failed attempts before giving up (state "failed");
            None retries forever.
        give_up_after: seconds without a frame (since the start, or since the stream was
            lost) before giving up (state "failed"), checked before each retry; the last
            attempt may add up to ``open_timeout``. None retries forever.
        max_lag: an RTSP stream whose decoding falls this many seconds behind the camera
            (``stats.lag_s``, measured from RTP timestamps) is re-opened to jump back to real
            time: the backlog held in network buffers is skipped (it was never decoded, so it
            is not counted as read or dropped). None disables it. Ignored for other sources,
            whose timestamps do not reliably follow the camera's clock.
        live: False turns a remote file (``http://.../clip.mp4``) into a finite, lossless
            source that finishes at its end instead of reconnecting.
        api: OpenCV capture backend (``cv2.CAP_FFMPEG`` for URLs, ``cv2.CAP_ANY`` for webcams).
    """

    def __init__(self, target: str | int, name: str, *, secrets: list[str] | None = None,
                 queue_size: int = 8, open_timeout: float = 5.0, read_timeout: float = 5.0,
                 backoff: Backoff | None = None, max_retries: int | None = None,
                 give_up_after: float | None = None, max_lag: float | None = 10.0,
                 live: bool = True, api: int = cv2.CAP_FFMPEG):
        super().__init__(name, live=live, queue_size=queue_size, secrets=secrets)
        if open_timeout <= 0 or read_timeout <= 0:
            raise UsageError("open_timeout and read_timeout must be positive")
        if max_retries is not None and max_retries < 0:
            raise UsageError(f"max_retries must be >= 0 or None, got {max_retries}")
        self._target = target
        self._api = api
        self.open_timeout = float(open_timeout)
        self.read_timeout = float(read_timeout)
        self.backoff = backoff or Backoff()
        self.max_retries = max_retries
        if give_up_after is not None and give_up_after <= 0:
            raise UsageError(f"give_up_after must be positive or None, got {give_up_after}")
        self.give_up_after = give_up_after
        if max_lag is not None and max_lag <= 0:
            raise UsageError(f"max_lag must be positive or None, got {max_lag}")
        self.max_lag = max_lag
        self._measure_lag = live and isinstance(target, str) and target.lower().startswith("rtsp")
        self._rng = random.Random()
        self._frame_count = 0
        # A blocked open or read returns within its timeout; give stop() room for both.
        self._join_timeout = self.open_timeout + self.read_timeout + 5.0

    # ---------------------------------------------------------------- capture I/O
    def _open_capture(self) -> cv2.VideoCapture | None:
        if self._api == cv2.CAP_FFMPEG:
            _prepare_ffmpeg_env()
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.open_timeout * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout * 1000),
            ]
            cap = cv2.VideoCapture(self._target, self._api, params)
        else:
            cap = cv2.VideoCapture(self._target, self._api)
        if cap.isOpened():
            return cap
        cap.release()
        return None

    # --------------------------------------------------------------------- reader
    def _run(self) -> None:
        failures = 0  # consecutive failed attempts, for the backoff and max_retries
        down_since = time.monotonic()  # no frame since then (give_up_after)
        first = True
        while not self._stopping:
            if not first:
                reason = self._give_up_reason(failures, down_since)
                if reason:
                    last = self.stats.last_error
                    self._error(f"giving up on {self.name} {reason}; last error: {last}",
                                count=False)
                    self._set_state("failed")
                    return
                delay = self.backoff.delay(max(0, failures - 1), self._rng)
                if self.give_up_after is not None:  # wake in time to give up, not 30 s late
                    left = down_since + self.give_up_after - time.monotonic()
                    delay = min(delay, max(0.0, left))
                self._set_state("reconnecting")
                if not self._sleep(delay):
                    return
                self._count_reconnect()
            first = False

            cap = self._open_capture()
            if cap is None:
                failures += 1
                self._error(
                    f"cannot open {self.name} (unreachable, refused, not a video stream, or no "
                    f"answer within {self.open_timeout:g} s)"
                )
                continue
            self._count_connect()
            try:
                frames, ended = self._read_frames(cap)
            finally:
                cap.release()
            if self._stopping:
                return
            if frames > 0:
                failures = 0
                down_since = time.monotonic()  # the stream was up until now
            else:
                failures += 1
            if not self.live and ended:
                # A remote file: its end is the end, not a camera going away.
                self._finish_remote_file(frames)
                return

    def _give_up_reason(self, failures: int, down_since: float) -> str:
        """Why to stop retrying now ("" to go on)."""
        if self.max_retries is not None and failures > self.max_retries:
            return f"after {failures} failed attempts"
        down = time.monotonic() - down_since
        if self.give_up_after is not None and down >= self.give_up_after:
            return f"after {down:.0f} s without a frame ({failures} failed attempts)"
        return ""

    def _finish_remote_file(self, frames: int) -> None:
        expected = self._frame_count
        if frames == 0:
            self._error(f"no frame could be decoded from {self.name}")
            self._set_state("failed")
        elif expected and frames < expected - max(2, expected // 100):
            self._error(
                f"{self.name} stopped after {frames} of {expected} frames "
                "(connection lost, truncated or corrupt file)"
            )
            self._set_state("failed")
        else:
            self._set_state("finished")

    def _read_frames(self, cap: cv2.VideoCapture) -> tuple[int, bool]:
        """Read until the stream fails or stop(); returns (frames read, stream ended)."""
        frames = 0
        self._frame_count = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        self._set_state("streaming")
        self._set_lag(0.0)
        lag_base: float | None = None  # smallest (wall - media) offset seen on this connection
        last_media = 0.0
        while not self._stopping:
            t_read = time.perf_counter()
            ok, image = cap.read()
            decode_s = time.perf_counter() - t_read
            if not ok or image is None:
                if self.live:
                    self._error(
                        f"lost {self.name} after {frames} frames: stream ended, dropped, or no "
                        f"frame within {self.read_timeout:g} s"
                    )
                    return frames, False
                return frames, True
            frames += 1
            t = self._now() if self.live else cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if not self._emit(image, t, decode_s):
                break
            media = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 if self._measure_lag else 0.0
            if 0 < media < last_media - 1.0:  # the camera restarted its clock: measure afresh
                lag_base, last_media = None, 0.0
            # Frames without a timestamp (OpenCV reports 0) or a repeated one say nothing.
            if media > last_media:
                last_media = media
                offset = self._now() - media
                lag_base = offset if lag_base is None else min(lag_base, offset)
                lag = offset - lag_base
                self._set_lag(lag)
                if self.max_lag is not None and lag > self.max_lag:
                    self._error(
                        f"{self.name} fell {lag:.1f} s behind the camera's clock (decoding "
                        "slower than real time, or a burst of late frames); re-opening to catch up"
                    )
                    return frames, False
        return frames, False
