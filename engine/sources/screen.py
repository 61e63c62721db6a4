"""Screen and window capture on Linux/X11: ``screen://`` and ``window://TITLE``.

The threat the product is named for, a live face swap on a video call, is on the *far* side
of the call: in a Zoom/Teams/Meet window on the user's own screen. These sources read that
window (or a screen region) through FFmpeg's ``x11grab`` input, as raw BGR frames on a pipe,
so no encoder and no OpenCV capture backend is involved.

Spec forms::

    screen://                      the whole screen of $DISPLAY
    screen://:99                   the whole screen of display :99
    screen://:99+100,200,640x480   a 640x480 region whose top-left corner is at (100, 200)
    window://Zoom Meeting          the window whose title is exactly "Zoom Meeting" ($DISPLAY)

A window is found with ``xwininfo -name`` (x11-utils) at every (re)connect, so a window that
was moved, resized or reopened is followed after the next reconnect. Like every live source it
drops the oldest frame when the consumer is slow, and a failure (the window closed, the X
server gone, FFmpeg stalled for ``read_timeout``) reconnects with the same backoff and
``max_retries`` as RTSP (:class:`engine.sources.live.Backoff`).

Wayland has no X11 screen to grab: under a Wayland session this works only for X11 (XWayland)
windows, which is what most video-call clients run as; see docs/SOURCES.md.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import time
from dataclasses import dataclass
from urllib.parse import unquote

import numpy as np

from engine.errors import InputError, UsageError
from engine.sources.base import Source
from engine.sources.live import Backoff

SCHEMES = ("screen", "window")
# How often a window source checks that its window is still where it grabs (one xwininfo call).
WINDOW_CHECK_S = 1.0
_REGION = re.compile(r"^(?P<display>[^+]*)(?:\+(?P<x>\d+),(?P<y>\d+)(?:,(?P<w>\d+)x(?P<h>\d+))?)?$")


@dataclass(frozen=True)
class Region:
    """What to grab: a display and a rectangle on it (pixels)."""

    display: str
    x: int
    y: int
    width: int
    height: int


def parse_spec(spec: str) -> tuple[str, str, str]:
    """Split ``screen://...`` / ``window://...`` into (kind, display or title, region text).

    Raises:
        UsageError: another scheme, an empty title, or a malformed region.
    """
    scheme, _, rest = spec.partition("://")
    kind = scheme.lower()
    if kind not in SCHEMES:
        raise UsageError(f"not a screen source: {spec}")
    rest = unquote(rest)
    if kind == "window":
        if not rest.strip():
            raise UsageError("window:// needs a window title, e.g. window://Zoom Meeting")
        return kind, rest, ""
    if not _REGION.match(rest):
        raise UsageError(f"bad screen region {spec!r}: use screen://[:D][+X,Y[,WxH]]")
    return kind, rest, rest


def _xwininfo(args: list[str], display: str) -> dict[str, int]:
    tool = shutil.which("xwininfo")
    if tool is None:
        raise InputError("screen capture needs xwininfo (Debian/Ubuntu: apt install x11-utils)")
    env = {**os.environ, "DISPLAY": display}
    try:
        out = subprocess.run([tool, *args], capture_output=True, text=True, env=env, timeout=5)
    except subprocess.TimeoutExpired as exc:
        raise InputError(f"xwininfo did not answer on display {display}") from exc
    if out.returncode != 0:
        raise InputError(out.stderr.strip().splitlines()[-1] if out.stderr.strip()
                         else f"xwininfo failed on display {display}")
    fields = {}
    for key, name in (("Absolute upper-left X", "x"), ("Absolute upper-left Y", "y"),
                      ("Width", "w"), ("Height", "h")):
        match = re.search(rf"^\s*{key}:\s*(-?\d+)", out.stdout, re.M)
        if match is None:
            raise InputError(f"xwininfo gave no {key} on display {display}")
        fields[name] = int(match.group(1))
    return fields


def resolve(kind: str, target: str, default_display: str | None = None) -> Region:
    """The rectangle to grab now (a window's current place and size, clipped to the screen).

    Raises:
        InputError: no X display, no such window, or a region outside the screen.
    """
    display = default_display or os.environ.get("DISPLAY", "")
    if kind == "screen":
        match = _REGION.match(target)
        assert match is not None  # parse_spec checked it
        display = match.group("display") or display
    if not display:
        raise InputError("no X display: set DISPLAY or name one, e.g. screen://:0")
    root = _xwininfo(["-root"], display)
    if kind == "window":
        win = _xwininfo(["-name", target], display)
        x, y, w, h = win["x"], win["y"], win["w"], win["h"]
    else:
        x, y = int(match.group("x") or 0), int(match.group("y") or 0)
        w = int(match.group("w") or root["w"] - x)
        h = int(match.group("h") or root["h"] - y)
    # x11grab refuses a rectangle that leaves the screen: clip a window that sticks out.
    x0, y0 = max(0, x), max(0, y)
    w, h = min(x + w, root["w"]) - x0, min(y + h, root["h"]) - y0
    if w < 2 or h < 2:
        raise InputError(f"{kind} region {w}x{h}+{x0},{y0} is empty or off the screen")
    return Region(display, x0, y0, w, h)


class ScreenSource(Source):
    """Frames of a screen region or a window, read from FFmpeg's x11grab as raw BGR.

    Args:
        kind: "screen" or "window".
        target: region text (screen) or exact window title (window).
        name: display id.
        fps: frames per second asked of x11grab.
        queue_size, read_timeout, backoff, max_retries: as for
            :class:`engine.sources.live.LiveSource`.
        open_timeout: seconds allowed to find the window and receive the first frame.
    """

    def __init__(self, kind: str, target: str, name: str, *, fps: float = 10.0,
                 queue_size: int = 8, open_timeout: float = 5.0, read_timeout: float = 5.0,
                 backoff: Backoff | None = None, max_retries: int | None = None):
        super().__init__(name, live=True, queue_size=queue_size)
        if fps <= 0 or open_timeout <= 0 or read_timeout <= 0:
            raise UsageError("fps, open_timeout and read_timeout must be positive")
        if max_retries is not None and max_retries < 0:
            raise UsageError(f"max_retries must be >= 0 or None, got {max_retries}")
        if shutil.which("ffmpeg") is None:
            raise InputError("screen capture needs ffmpeg (Debian/Ubuntu: apt install ffmpeg)")
        self.kind, self.target, self.fps = kind, target, float(fps)
        self.open_timeout, self.read_timeout = float(open_timeout), float(read_timeout)
        self.backoff = backoff or Backoff()
        self.max_retries = max_retries
        self.region: Region | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._join_timeout = self.open_timeout + self.read_timeout + 5.0

    def _spawn(self, region: Region) -> subprocess.Popen[bytes]:
        cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
               "-f", "x11grab", "-draw_mouse", "0", "-framerate", f"{self.fps:g}",
               "-video_size", f"{region.width}x{region.height}",
               "-i", f"{region.display}+{region.x},{region.y}",
               "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def _read_exact(self, fd: int, size: int, timeout: float) -> bytes | None:
        """``size`` bytes from the pipe, or None on end of stream or ``timeout`` (a stall)."""
        buf = bytearray()
        deadline = time.monotonic() + timeout
        while len(buf) < size and not self._stopping:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], min(left, 0.25))[0]:
                if left <= 0:
                    return None
                continue
            chunk = os.read(fd, size - len(buf))
            if not chunk:
                return None
            buf += chunk
        return bytes(buf) if len(buf) == size else None

    def _stop_proc(self) -> str:
        proc, self._proc = self._proc, None
        if proc is None:
            return ""
        proc.kill()
        try:
            _, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            return ""
        lines = (err or b"").decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    def _run(self) -> None:
        failures, first = 0, True
        while not self._stopping:
            if not first:
                if self.max_retries is not None and failures > self.max_retries:
                    self._error(f"giving up on {self.name} after {failures} failed attempts; "
                                f"last error: {self.stats.last_error}", count=False)
                    self._set_state("failed")
                    return
                self._set_state("reconnecting")
                if not self._sleep(self.backoff.delay(max(0, failures - 1))):
                    return
                self._count_reconnect()
            first = False
            try:
                self.region = resolve(self.kind, self.target)
            except InputError as exc:
                failures += 1
                self._error(f"cannot capture {self.name}: {exc}")
                continue
            frames = self._capture(self.region)
            failures = 0 if frames else failures + 1

    def _capture(self, region: Region) -> int:
        """Read frames until a failure or stop(); returns how many were read."""
        self._proc = self._spawn(region)
        size = region.width * region.height * 3
        fd = self._proc.stdout.fileno()  # type: ignore[union-attr]
        frames, why = 0, ""
        next_check = time.monotonic() + WINDOW_CHECK_S
        self._set_state("streaming")
        while not self._stopping:
            t0 = time.perf_counter()
            data = self._read_exact(fd, size, self.open_timeout if not frames
                                    else self.read_timeout)
            if data is None:
                break
            frames += 1
            image = np.frombuffer(data, np.uint8).reshape(region.height, region.width, 3)
            if not self._emit(image, self._now(), time.perf_counter() - t0):
                break
            # x11grab grabs a rectangle of the screen, not the window: once the window closes
            # or moves it would go on grabbing whatever is there now. Check it, and reconnect.
            if self.kind == "window" and time.monotonic() >= next_check:
                next_check = time.monotonic() + WINDOW_CHECK_S
                why = self._window_changed(region)
                if why:
                    break
        stopping = self._stopping
        stderr_line = self._stop_proc()  # always: the process must go
        why = why or stderr_line
        if not stopping:
            self._error(f"lost {self.name} after {frames} frames: "
                        f"{why or 'no frame within the timeout'}")
        return frames

    def _window_changed(self, region: Region) -> str:
        """Why the grabbed rectangle no longer shows the window ("" while it still does)."""
        try:
            now = resolve(self.kind, self.target, region.display)
        except InputError as exc:
            return f"window closed ({exc})"
        return "" if now == region else f"window moved or resized to {now.width}x{now.height}"
