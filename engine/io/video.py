"""Iterate over the frames of a video file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from engine.errors import InputError, UsageError

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})


def iter_video_frames(path: str | Path, every: int = 1) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield every ``every``-th frame of a video file.

    Args:
        path: video file.
        every: keep frames 0, every, 2*every, ...; skipped frames are not decoded.

    Yields:
        (index, t, image): 0-based frame index in the file, timestamp in seconds (the container's
        presentation time, or index / fps when the backend gives none) and the HxWx3 BGR frame.

    Raises:
        UsageError: ``every`` < 1.
        InputError: the file is missing, cannot be opened, or has no decodable frame.
    """
    if every < 1:
        raise UsageError(f"--every must be >= 1, got {every}")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"video not found: {path}")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError(f"cannot open video {path} (corrupt or unsupported format)")
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        index = 0
        decoded = 0
        while True:
            if index % every:
                if not cap.grab():
                    break
                index += 1
                continue
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            decoded += 1
            msec = cap.get(cv2.CAP_PROP_POS_MSEC)
            t = msec / 1000.0 if msec > 0 or index == 0 else (index / fps if fps > 0 else 0.0)
            if frame.ndim == 2:
                frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
            yield index, t, frame
            index += 1
        if decoded == 0:
            raise InputError(f"no decodable frame in video {path}")
    finally:
        cap.release()
