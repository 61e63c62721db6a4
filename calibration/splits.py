"""Which faces calibrate and which faces judge: deterministic, class-balanced, disjoint sets.

Calibration draws from the training split and the accuracy gate from the held-out test split of
the training data's split (:mod:`train.sources`: DFDC by source video, LFW/IMFDB by person,
the rest by file, through the project's one split function and fractions, :mod:`train.labelled`),
so the gate never sees a calibration image. Crops follow the canonical pipeline of ``train.data``
(ONNX MTCNN, square crop with the contract's margin at native resolution); when that module or
its detector is unavailable, an image is treated as an aligned face crop (the whole image).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from calibration.faces import (
    PreparedSet,
    balanced_sample,
    prepare_images,
    read_crop,
)
from engine.preprocess import InputContract
from train.labelled import TEST_FRACTION, VAL_FRACTION, Sample

log = logging.getLogger(__name__)

DEFAULT_CACHE = Path.home() / ".cache" / "deepscreen"


def split_of(
    path: str | Path, val: float = VAL_FRACTION, test: float = TEST_FRACTION
) -> str:
    """"train", "val" or "test" for a file, by the training split (:mod:`train.sources`)."""
    from train.sources import split_of_path

    return split_of_path(path, val, test)


def by_split(items: Sequence[Sample], splits: Sequence[str]) -> list[Sample]:
    """The items whose hash split is one of ``splits``."""
    return [it for it in items if split_of(it.path) in splits]


def native_crops(
    items: Sequence[Sample],
    margin: float,
    detect: bool = True,
    cache_dir: Path | None = None,
) -> list[np.ndarray]:
    """BGR native-resolution face crops of the items, through the canonical crop pipeline."""
    paths = [it.path for it in items]
    if detect:
        try:
            from train.data import detect_faces, face_crop
        except ImportError as exc:
            log.warning("canonical face crops unavailable (%s); using whole images", exc)
        else:
            cache = Path(cache_dir or DEFAULT_CACHE) / "calibration-detections.npz"
            faces = detect_faces(paths, cache, margin)
            return [face_crop(read_crop(Path(p)), faces[p].box, margin) for p in paths]
    return [read_crop(Path(p)) for p in paths]


def prepared(
    items: Sequence[Sample],
    contract: InputContract,
    detect: bool = True,
    cache_dir: Path | None = None,
) -> PreparedSet:
    """Both model inputs for the items, as the runtime prepares them."""
    crops = native_crops(items, contract.margin, detect, cache_dir)
    x, spec = prepare_images(crops, contract)
    labels = np.array([it.label for it in items], dtype=np.int64)
    return PreparedSet(x, spec, labels, tuple(Path(it.path) for it in items))


def calibration_sample(
    items: Sequence[Sample],
    contract: InputContract,
    n: int = 512,
    detect: bool = True,
    cache_dir: Path | None = None,
) -> PreparedSet:
    """Class-balanced calibration set of ``n`` faces from the training split."""
    pool = by_split(items, ("train",)) or list(items)
    return prepared(balanced_sample(pool, n, salt="calibration"), contract, detect, cache_dir)


def validation_sample(
    items: Sequence[Sample],
    contract: InputContract,
    n: int = 400,
    detect: bool = True,
    cache_dir: Path | None = None,
) -> PreparedSet:
    """Class-balanced labelled set of up to ``n`` faces from the held-out test split.

    Folders that are not part of the training data (no split applies) are used whole.
    """
    held_out = by_split(items, ("test",))
    pool = held_out if len({it.label for it in held_out}) == 2 else list(items)
    return prepared(balanced_sample(pool, n, salt="validation"), contract, detect, cache_dir)
