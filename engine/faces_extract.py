"""Find faces in images, image folders and videos and write square crops plus a manifest.

Layout of the output folder ``OUT``::

    OUT/manifest.csv      one row per face crop (columns: MANIFEST_COLUMNS)
    OUT/summary.json      counts and the inputs that failed
    OUT/crops/<key>_<k>.png              face k of an image
    OUT/crops/<key>/<frame>_<k>.png      face k of a video frame

``<key>`` mirrors the input: for a folder input ``photos/`` holding ``real/a.jpg`` it is
``photos/real/a``, so a labelled tree (``real/``, ``fake/``) stays labelled under ``crops/`` and
``deepscreen data split OUT/crops --groups OUT/manifest.csv`` can split it by source video.
Crops are PNG (lossless) and at native resolution unless ``size`` is given: the spectral
features must not see resampling or extra JPEG artefacts.

Manifest columns: ``source`` (input file as found), ``frame`` (0-based frame index, 0 for
images), ``t`` (seconds, 0 for images), ``face`` (rank in the frame, 0 = highest score),
``x1 y1 x2 y2`` (detector box, pixels of the source frame), ``score``, ``lm0_x lm0_y ... lm4_x
lm4_y`` (landmarks: left eye, right eye, nose, left and right mouth corner), ``crop`` (path of
the crop relative to the manifest's folder), ``crop_size`` (side in pixels).
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from engine.crops import square_crop
from engine.detect import MTCNNDetector
from engine.errors import InputError, UsageError
from engine.io import IMAGE_SUFFIXES, VIDEO_SUFFIXES, iter_video_frames, read_image

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = (
    ["source", "frame", "t", "face", "x1", "y1", "x2", "y2", "score"]
    + [f"lm{i}_{axis}" for i in range(5) for axis in ("x", "y")]
    + ["crop", "crop_size"]
)


@dataclass(frozen=True)
class InputItem:
    """One file to process.

    Attributes:
        path: the file.
        kind: "image" or "video".
        key: output name stem, mirroring the input (see module docstring).
    """

    path: Path
    kind: str
    key: str


@dataclass(frozen=True)
class ExtractOptions:
    """What to extract and how.

    Attributes:
        every: process every n-th video frame.
        margin: relative margin of the square crop around the face box.
        size: crop side in pixels; None keeps native resolution.
        max_faces: keep at most this many faces per frame (highest scores); None keeps all.
        min_face: detector's minimum face size in pixels.
        thresholds: detector's P/R/O-Net thresholds.
        scale_factor: detector's pyramid scale factor.
        threads: ONNX Runtime threads (None: ONNX Runtime's default).
    """

    every: int = 1
    margin: float = 0.25
    size: int | None = None
    max_faces: int | None = None
    min_face: int = 20
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    scale_factor: float = 0.709
    threads: int | None = None


@dataclass
class ExtractSummary:
    """Counts of one extraction run."""

    images: int = 0
    videos: int = 0
    frames: int = 0
    faces: int = 0
    frames_without_face: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)

    @property
    def failed_count(self) -> int:
        return len(self.failed)


def _kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return None


def discover_inputs(paths: list[Path]) -> list[InputItem]:
    """Expand files and folders (recursively, sorted) into the images and videos to process.

    A file named explicitly is processed even with an unknown suffix (as an image); files with
    unknown suffixes inside folders are ignored.

    Raises:
        UsageError: a path does not exist or nothing to process was found.
    """
    items: list[InputItem] = []
    used: dict[str, int] = {}
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _kind(p))
            pairs = [
                (p, f"{path.resolve().name}/{p.relative_to(path).with_suffix('')}") for p in found
            ]
        elif path.is_file():
            pairs = [(path, path.stem)]
        else:
            raise UsageError(f"input not found: {path}")
        for p, key in pairs:
            key = key.replace("\\", "/")
            # Two inputs with the same name (a/x.jpg and b/x.jpg given as files) get distinct keys.
            n = used.get(key, 0)
            used[key] = n + 1
            items.append(InputItem(p, _kind(p) or "image", key if n == 0 else f"{key}~{n}"))
    if not items:
        raise UsageError("no images or videos found in the given inputs")
    return items


def _frames(item: InputItem, every: int) -> Iterator[tuple[int, float, np.ndarray]]:
    if item.kind == "video":
        yield from iter_video_frames(item.path, every=every)
    else:
        yield 0, 0.0, read_image(item.path)


def _write_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"cannot encode {path}")
    data.tofile(path)


class FaceExtractor:
    """Runs detection + cropping over inputs and writes crops and the manifest.

    Args:
        out_dir: output folder (created).
        options: extraction options.
        manifest: manifest path (default ``out_dir/manifest.csv``).
    """

    def __init__(self, out_dir: Path, options: ExtractOptions, manifest: Path | None = None):
        if options.every < 1:
            raise UsageError(f"--every must be >= 1, got {options.every}")
        if options.max_faces is not None and options.max_faces < 1:
            raise UsageError(f"--max-faces must be >= 1, got {options.max_faces}")
        self.out_dir = Path(out_dir)
        self.options = options
        self.manifest = Path(manifest) if manifest else self.out_dir / "manifest.csv"
        self.detector = MTCNNDetector(
            min_face=options.min_face,
            thresholds=options.thresholds,
            scale_factor=options.scale_factor,
            threads=options.threads,
        )

    def run(
        self, items: list[InputItem], on_progress: Callable[[InputItem, int], None] | None = None
    ) -> ExtractSummary:
        """Process every item; a file that cannot be read is logged, counted and skipped.

        Args:
            items: from :func:`discover_inputs`.
            on_progress: called with (item, frames processed so far in it) after each frame,
                and with (item, -1) when the item is finished.

        Returns:
            The run's counts.
        """
        summary = ExtractSummary()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        with self.manifest.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(MANIFEST_COLUMNS)
            for item in items:
                try:
                    self._process(item, writer, summary, on_progress)
                except (InputError, cv2.error, OSError) as exc:
                    log.info("skipping %s: %s", item.path, exc)
                    summary.failed.append({"source": str(item.path), "error": str(exc)})
                fh.flush()
                if on_progress:
                    on_progress(item, -1)
        summary_path = self.out_dir / "summary.json"
        summary_path.write_text(
            json.dumps(asdict(summary) | {"options": asdict(self.options)}, indent=2) + "\n"
        )
        return summary

    def _process(self, item, writer, summary: ExtractSummary, on_progress) -> None:
        opts = self.options
        done = 0
        for index, t, frame in _frames(item, opts.every):
            detections = self.detector.detect(frame)
            if opts.max_faces is not None:
                detections = detections[: opts.max_faces]
            done += 1
            summary.frames += 1
            summary.frames_without_face += not detections
            for k, det in enumerate(detections):
                crop = square_crop(frame, det.box, margin=opts.margin, size=opts.size)
                if item.kind == "video":
                    rel = Path("crops") / item.key / f"{index:06d}_{k}.png"
                else:
                    rel = Path("crops") / f"{item.key}_{k}.png"
                _write_png(self.out_dir / rel, crop)
                summary.faces += 1
                crop_ref = Path(_relpath(self.out_dir / rel, self.manifest.parent))
                writer.writerow(
                    [str(item.path), index, f"{t:.6f}", k]
                    + [f"{v:.2f}" for v in det.box]
                    + [f"{det.score:.6f}"]
                    + [f"{v:.2f}" for v in det.landmarks.reshape(-1)]
                    + [crop_ref.as_posix(), crop.shape[0]]
                )
            if on_progress:
                on_progress(item, done)
        if item.kind == "video":
            summary.videos += 1
        else:
            summary.images += 1


def _relpath(path: Path, start: Path) -> str:
    return os.path.relpath(path.resolve(), start.resolve())
