"""Cached face detections and the ONE canonical crop pipeline.

Which files are labelled faces, and their splits, is :mod:`train.labelled`'s (the record, the
labelling rule, discovery) and :mod:`train.sources`'s (the source registry).

Every image, in training and in testing, goes the way a video frame goes in the engine:
detect the face with the ONNX MTCNN, take the square crop around the box with the contract's
margin at NATIVE resolution, compute the spectrum from that native crop, and resize the crop to
the contract's input size for the CNN (:func:`engine.preprocess.prepare_crops`). So a model sees
the same thing at training time as at run time, and cannot key on a source's file resolution.
Images in which no face is found are treated as aligned face crops (the whole image is the crop).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Face:
    """Cached detection for one image: box (x1, y1, x2, y2), landmarks (5, 2) or None."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray | None
    detected: bool


def read_bgr(path: str | Path) -> np.ndarray:
    """Decode an image file as BGR uint8 (raises InputError when it cannot be read)."""
    from engine.io import read_image

    return read_image(path)


def square_region(box: tuple[float, ...], margin: float) -> tuple[float, float, float]:
    """(centre x, centre y, side) of the margin square around ``box``.

    Same geometry as :func:`engine.crops.square_region`: side = max(w, h) * (1 + margin).
    """
    x1, y1, x2, y2 = box[:4]
    side = max(x2 - x1, y2 - y1) * (1.0 + margin)
    return (x1 + x2) / 2.0, (y1 + y2) / 2.0, side


def crop_square(img: np.ndarray, cx: float, cy: float, side: float) -> np.ndarray:
    """Native-resolution square crop; parts outside the image are filled by edge replication."""
    s = max(int(round(side)), 8)
    x0 = math.floor(cx - s / 2.0 + 0.5)
    y0 = math.floor(cy - s / 2.0 + 0.5)
    h, w = img.shape[:2]
    pad = max(0, -x0, -y0, x0 + s - w, y0 + s - h)
    if pad:
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0 = x0 + pad, y0 + pad
    return img[y0 : y0 + s, x0 : x0 + s].copy()


def face_crop(img: np.ndarray, box: tuple[float, ...], margin: float) -> np.ndarray:
    """The canonical native crop of a face box: the runtime's own function."""
    from engine.crops import square_crop

    return square_crop(img, box, margin=margin)


def fitted_crop(img: np.ndarray, box: tuple[float, ...], margin: float) -> np.ndarray:
    """The canonical square pulled inside the image (:func:`train.augment.fit_square`).

    Same as :func:`face_crop` when the square lies inside the image; on a pre-cropped face
    image it is the largest square of real pixels near the canonical one, with no border fill.
    """
    from engine.crops import square_region
    from train.augment import fit_square

    x0, y0, side = square_region(tuple(box), margin)
    cx, cy, s = fit_square(x0 + side / 2.0, y0 + side / 2.0, float(side), img.shape)
    return crop_square(img, cx, cy, s)


def whole_image_box(shape: tuple[int, ...], margin: float) -> tuple[float, float, float, float]:
    """A box whose margin crop is the centred square of the image (for aligned crops)."""
    h, w = shape[:2]
    s = min(h, w) / (1.0 + margin)
    cx, cy = w / 2.0, h / 2.0
    return (cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2)


def make_detector(min_face: int = 40):
    """The engine's ONNX MTCNN (same detector as at run time), single-threaded."""
    from engine.detect import MTCNNDetector

    return MTCNNDetector(min_face=min_face, threads=1)


def largest_face(detections: list) -> object | None:
    """The detection with the largest box area (the subject of a face photo), or None."""
    if not detections:
        return None
    return max(detections, key=lambda d: (d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))


def detect_faces(
    paths: list[str], cache_file: str | Path | None, margin: float, min_face: int = 40
) -> dict[str, Face]:
    """Largest face per image, cached in an ``.npz`` (detection runs once per image).

    Images with no detected face get :func:`whole_image_box` and no landmarks.
    """
    # Keys are resolved paths, so "../shared/x.jpg" and "/work/shared/x.jpg" share an entry.
    keys = {p: str(Path(p).resolve()) for p in paths}
    cache_path = Path(cache_file) if cache_file else None
    cache = load_faces(cache_path) if cache_path and cache_path.is_file() else {}
    todo = [p for p in paths if keys[p] not in cache]
    if todo:
        detector = make_detector(min_face)
        for p in _progress(todo, "detecting faces"):
            img = read_bgr(p)
            det = largest_face(detector.detect(img))
            if det is None:
                cache[keys[p]] = Face(whole_image_box(img.shape, margin), None, False)
            else:
                lm = np.asarray(det.landmarks, np.float32).reshape(5, 2)
                cache[keys[p]] = Face(tuple(float(v) for v in det.box), lm, True)
        if cache_path:
            save_faces(cache_path, cache)
    missed = sum(1 for p in paths if not cache[keys[p]].detected)
    if missed:
        log.info("no face found in %d of %d images: used as aligned crops", missed, len(paths))
    return {p: cache[keys[p]] for p in paths}


def load_faces(path: Path, base: Path | None = None) -> dict[str, Face]:
    """The detection cache ``path`` as {resolved path: Face}.

    ``base``: resolve relative paths against this folder (a relocated cache, e.g. the
    device pack's, stores them relative to its data); None resolves against the working dir.
    """
    data = np.load(path, allow_pickle=False)
    out: dict[str, Face] = {}
    for p, b, lm, d in zip(data["paths"], data["boxes"], data["landmarks"], data["detected"],
                           strict=True):
        key = Path(str(p)) if base is None else Path(base) / str(p)
        out[str(key.resolve())] = Face(tuple(float(v) for v in b), lm if d else None, bool(d))
    return out


def save_faces(path: Path, cache: dict[str, Face]) -> None:
    """Write the detection cache atomically (other runs may be reading it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted(cache)
    tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        paths=np.array(keys),
        boxes=np.array([cache[k].box for k in keys], np.float32),
        landmarks=np.stack(
            [cache[k].landmarks if cache[k].detected else np.zeros((5, 2), np.float32)
             for k in keys]
        ),
        detected=np.array([cache[k].detected for k in keys]),
    )
    os.replace(tmp, path)


def _progress(items: list, desc: str):
    if len(items) < 50:
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=desc, unit="img", leave=False, mininterval=5)
