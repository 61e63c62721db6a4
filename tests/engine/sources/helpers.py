"""Small helpers shared by the source tests (real files, real threads, no mocks)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from engine.sources import Source
from engine.types import Frame


def os_thread_count() -> int:
    """Threads of this process as the kernel sees them (FFmpeg's decoder threads included)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return threading.active_count()


def write_clip(path: Path, frames: int = 40, size: tuple[int, int] = (160, 120),
               fps: float = 25.0) -> Path:
    """An MJPG clip of the astronaut panning, written with OpenCV (no FFmpeg binary needed)."""
    w, h = size
    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    for i in range(frames):
        x = 4 * i
        writer.write(cv2.resize(image[:, x : x + 300], (w, h)))
    writer.release()
    return path


def read_frames(path: Path) -> list[np.ndarray]:
    """Every frame OpenCV decodes from the video at ``path``, in order."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def drain(source: Source, *, delay: float = 0.0, limit: float = 60.0,
          max_frames: int | None = None) -> list[Frame]:
    """Consume a started source until finished (or ``max_frames``), sleeping ``delay`` per frame."""
    frames: list[Frame] = []
    deadline = time.monotonic() + limit
    while not source.finished and time.monotonic() < deadline:
        frame = source.get(0.2)
        if frame is None:
            continue
        frames.append(frame)
        if max_frames is not None and len(frames) >= max_frames:
            break
        if delay:
            time.sleep(delay)
    return frames


def wait_for(predicate, timeout: float, step: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def as_bgr_uint8(image: np.ndarray) -> bool:
    return image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
