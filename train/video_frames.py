"""Labelled video clips as a face source: their frames, written once as images.

``videos/deepfacelive/{real,fake}/NAME.mp4`` holds each DeepFaceLive demo cut into the
streamer's real webcam half and the live-swap half. Training wants frames, not clips, and the
split must be by demo (both halves of a demo on one side): frame ``k`` of ``real/NAME.mp4`` is
written as ``<out>/<source>/real/NAME_<k>.jpg``, and the registry groups ``NAME_<k>`` by
``NAME`` (person grouping), so the split is by demo with no extra rule.

Frames are written as JPEG at quality 95: one re-encoding, the same for both halves.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2

from engine.errors import UsageError
from engine.io import VIDEO_SUFFIXES
from train.labelled import TEST_FRACTION, VAL_FRACTION, label_of_folder, labelled_files

log = logging.getLogger(__name__)

JPEG_QUALITY = 95


@dataclass(frozen=True)
class FrameExport:
    """What :func:`extract_frames` wrote.

    Attributes:
        root: the faces root that now holds ``<source>/<label>/<clip>_<frame>.jpg``.
        clips: clips read.
        frames: frames written (including ones written by an earlier call).
    """

    root: Path
    clips: int
    frames: int


def _clips(videos: Path) -> list[tuple[Path, str]]:
    """(clip, its label folder's name) for every clip below ``videos`` that the project's one
    labelling rule labels."""
    pairs, _ = labelled_files(videos, VIDEO_SUFFIXES)
    return [(clip, folder.name) for clip, folder in pairs]


def extract_frames(videos: str | Path, out_root: str | Path, every: int = 2) -> FrameExport:
    """Write every ``every``-th frame of each labelled clip below ``videos`` as an image.

    Args:
        videos: a folder with ``real*``/``fake*`` subfolders of clips (its name becomes the
            source name, e.g. ``deepfacelive``).
        out_root: faces root to write ``<source>/<label>/<clip>_<frame>.jpg`` into.
        every: keep frame indices divisible by this (consecutive frames are near duplicates).

    Returns:
        A :class:`FrameExport`. A clip whose frames are already written (a ``.done`` marker
        with the same ``every``) is skipped, so a second call costs nothing.

    Raises:
        UsageError: ``videos`` has no labelled clip, or a clip cannot be decoded.
    """
    videos, out_root = Path(videos), Path(out_root)
    if every < 1:
        raise UsageError(f"every must be >= 1, got {every}")
    clips = _clips(videos) if videos.is_dir() else []
    if not clips:
        raise UsageError(f"{videos} has no real*/fake* folder with video clips")
    source = videos.name
    written = 0
    for clip, label in clips:
        folder = out_root / source / label
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / f".{clip.stem}.done"
        if marker.is_file() and json.loads(marker.read_text()).get("every") == every:
            written += int(json.loads(marker.read_text())["frames"])
            continue
        cap = cv2.VideoCapture(str(clip))
        if not cap.isOpened():
            raise UsageError(f"cannot decode {clip}")
        index = count = 0
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                if index % every == 0:
                    path = folder / f"{clip.stem}_{index:05d}.jpg"
                    if not cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
                        raise UsageError(f"cannot write {path}")
                    count += 1
                index += 1
        finally:
            cap.release()
        if count == 0:
            raise UsageError(f"{clip} has no decodable frame")
        marker.write_text(json.dumps({"every": every, "frames": count}))
        written += count
        log.info("%s: %d frames -> %s", clip, count, folder)
    return FrameExport(out_root, len(clips), written)


def clips_of_split(videos: str | Path, split: str, val: float = VAL_FRACTION,
                   test: float = TEST_FRACTION, seed: int = 0) -> list[tuple[Path, int]]:
    """The labelled clips below ``videos`` whose frames fall in ``split`` (the registry's rule
    for the frames :func:`extract_frames` writes: grouped by clip name, so a demo's two halves
    share a split). Returns (clip, label) pairs, label 1 = fake."""
    from train.sources import spec_for, split_for

    videos = Path(videos)
    spec = spec_for(videos.name)
    out = []
    for clip, label_dir in _clips(videos):
        group = f"{spec.name}/person/{clip.stem}"
        if split_for(group, spec, val, test, seed) == split:
            out.append((clip, int(label_of_folder(label_dir))))
    return out
