"""Which video the benchmark reads, and 640x480 copies of it for the scaling run.

Default input, in order: a FaceForensics++ c23 clip from the shared data folder (``ffpp-c23/
real/519.mp4`` is natively 640x480 at 25 fps), else the built-in demo clip (assembled from the
public-domain portraits shipped in the package by :mod:`deepscreen_cli.demo.clip`). Any clip
that is not 640x480 is resized with OpenCV into a temporary folder when the benchmark asks for
that size.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import cv2

from engine.errors import InputError

log = logging.getLogger(__name__)

# Natively 640x480 (25 fps, H.264) clips of the shared set: the scaling run cycles through
# them so that N streams are N independent decodes of real, compressed footage.
SHARED_640x480 = (
    "videos/ffpp-c23/real/519.mp4",
    "videos/ffpp-c23/fake-deepfakes/519_515.mp4",
)


def shared_data_dir() -> Path | None:
    """``../shared/data`` next to the repository (or the working directory), if present.

    ``DEEPSCREEN_SHARED_DATA`` overrides the search (an empty value means: no shared data).
    """
    env = os.environ.get("DEEPSCREEN_SHARED_DATA")
    if env is not None:  # set: the only place to look (set it empty to ignore shared data)
        return Path(env) if env and Path(env).is_dir() else None
    repo = Path(__file__).resolve().parents[2]
    candidates = [repo.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c
    return None


def video_info(path: str | os.PathLike[str]) -> tuple[int, int, float, int]:
    """(width, height, fps, frame count) of a video file.

    Raises:
        InputError: the file cannot be opened.
    """
    cap = cv2.VideoCapture(os.fspath(path))
    try:
        if not cap.isOpened():
            raise InputError(f"cannot open video {path}")
        return (
            int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            float(cap.get(cv2.CAP_PROP_FPS) or 0.0),
            int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
        )
    finally:
        cap.release()


def default_videos(work_dir: Path) -> tuple[list[Path], str]:
    """The default benchmark clips and a line saying where they came from.

    Args:
        work_dir: where a demo clip is written when no shared data exists.
    """
    shared = shared_data_dir()
    if shared is not None:
        clips = [shared / rel for rel in SHARED_640x480 if (shared / rel).is_file()]
        if clips:
            return clips, f"shared FaceForensics++ c23 clips under {shared}"
    from deepscreen_cli.demo.clip import build_demo_clip

    clip = build_demo_clip(work_dir / "demo")
    path = Path(getattr(clip, "path", work_dir / "demo" / "demo_clip.mp4"))
    return [path], "built-in demo clip (public-domain portraits shipped in the package)"


def resize_video(
    src: Path, dst: Path, size: tuple[int, int] = (640, 480), max_frames: int = 0
) -> Path:
    """Write ``src`` resized to ``size`` (width, height) as MJPG AVI (OpenCV cannot encode H.264).

    Args:
        src: input video.
        dst: output path (``.avi``).
        size: output (width, height).
        max_frames: stop after this many frames (0 = all).

    Raises:
        InputError: the input cannot be read or the output cannot be written.
    """
    _, _, fps, _ = video_info(src)
    cap = cv2.VideoCapture(os.fspath(src))
    writer = cv2.VideoWriter(os.fspath(dst), cv2.VideoWriter_fourcc(*"MJPG"), fps or 25.0, size)
    if not writer.isOpened():
        cap.release()
        raise InputError(f"cannot write {dst}")
    n = 0
    try:
        while max_frames <= 0 or n < max_frames:
            ok, frame = cap.read()
            if not ok:
                break
            interp = cv2.INTER_AREA if frame.shape[1] > size[0] else cv2.INTER_LINEAR
            writer.write(cv2.resize(frame, size, interpolation=interp))
            n += 1
    finally:
        cap.release()
        writer.release()
    if n == 0:
        raise InputError(f"no frame could be read from {src}")
    return dst


def as_640x480(videos: Sequence[Path], tmp_dir: Path, max_frames: int = 0) -> list[Path]:
    """The given clips, each replaced by a 640x480 copy in ``tmp_dir`` unless already that size."""
    out = []
    for i, v in enumerate(videos):
        w, h, _, _ = video_info(v)
        if (w, h) == (640, 480):
            out.append(Path(v))
            continue
        log.info("resizing %s (%dx%d) to 640x480", v, w, h)
        out.append(resize_video(Path(v), tmp_dir / f"{i:02d}_{Path(v).stem}_640x480.avi",
                                max_frames=max_frames))
    return out


def read_frames(path: Path, count: int, start: int = 0) -> list:
    """Decode ``count`` frames (BGR) from ``path`` starting at ``start``; fewer at the end."""
    cap = cv2.VideoCapture(os.fspath(path))
    if not cap.isOpened():
        raise InputError(f"cannot open video {path}")
    frames = []
    try:
        if start:
            cap.set(cv2.CAP_PROP_POS_FRAMES, start)
        while len(frames) < count:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        cap.release()
    return frames
