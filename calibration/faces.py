"""Labelled real face crops for calibration, accuracy gates and parity checks.

Faces and their labels come from :func:`train.labelled.find_labelled`, the project's one
discovery and labelling rule: ``real*``/``fake*`` folders of face images at any depth, as in
``../shared/data/faces/*/{real,fake}``. Label 1 means fake everywhere. Sets are drawn
deterministically (ordered by a hash of the file name and a salt, never by directory order) and
class-balanced, and are prepared with exactly the runtime's code:
:func:`engine.preprocess.prepare_crops` for the pixels and
:func:`engine.features.spectral.radial_spectrum` on the native-resolution crop.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.errors import InputError, UsageError
from engine.preprocess import InputContract, prepare_crops
from train.labelled import Sample, find_labelled

REPO = Path(__file__).resolve().parents[1]
SHARED_FACES = REPO.parent / "shared" / "data" / "faces"
# Every shared source: calibration draws from their training splits, the gates from their test
# splits (held-out sources are test only), see calibration/splits.py.
DEFAULT_FACES = SHARED_FACES


@dataclass(frozen=True)
class PreparedSet:
    """Model inputs for a set of labelled faces, prepared as the runtime prepares them.

    Attributes:
        crops: (N, 3, S, S) float32 normalised crops.
        spectrum: (N, bins) float32 spectral features of the native crops.
        labels: (N,) int64, 1 = fake.
        paths: source file of each row.
    """

    crops: np.ndarray
    spectrum: np.ndarray
    labels: np.ndarray
    paths: tuple[Path, ...]

    def __len__(self) -> int:
        return len(self.labels)


def stable_key(path: str | Path, salt: str) -> str:
    """Order key that depends only on the file name and the salt (not on the folder layout)."""
    return hashlib.sha1(f"{salt}:{Path(path).name}".encode()).hexdigest()


def _rank(item: Sample, salt: str) -> tuple[str, str]:
    # Files of one name in two folders tie on the key: the path breaks the tie, so the draw
    # does not depend on the order the pool was listed in.
    return stable_key(item.path, salt), item.path


def balanced_sample(
    items: Sequence[Sample], n: int, salt: str, exclude: Sequence[str | Path] = ()
) -> list[Sample]:
    """Draw up to ``n`` items, half of each class, deterministically.

    Args:
        items: the pool.
        n: total wanted; each class contributes ``n // 2`` (fewer when a class is short; the
            other class is then cut to the same count so the set stays balanced).
        salt: distinct salts give disjoint-looking orders (calibration vs validation).
        exclude: paths that must not be drawn (e.g. the calibration set when drawing a
            validation set).
    """
    if n < 2:
        raise UsageError(f"a class-balanced set needs at least 2 images, asked for {n}")
    banned = {Path(p) for p in exclude}
    by_class: dict[int, list[Sample]] = {0: [], 1: []}
    for it in items:
        if Path(it.path) not in banned:
            by_class[it.label].append(it)
    per_class = min(n // 2, len(by_class[0]), len(by_class[1]))
    if per_class == 0:
        raise UsageError("need images of both classes (real* and fake*) to draw a balanced set")
    chosen: list[Sample] = []
    for label in (0, 1):
        ranked = sorted(by_class[label], key=lambda it: _rank(it, salt))
        chosen.extend(ranked[:per_class])
    return sorted(chosen, key=lambda it: _rank(it, salt))


def read_crop(path: str | Path) -> np.ndarray:
    """Read a face image as a BGR uint8 crop (the image itself is the crop)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"cannot read image {path}")
    return image


def prepare_images(
    crops: Sequence[np.ndarray], contract: InputContract
) -> tuple[np.ndarray, np.ndarray]:
    """Both classifier inputs for native-resolution BGR crops, exactly as the runtime does."""
    from engine.features.spectral import radial_spectrum

    return prepare_crops(crops, contract), radial_spectrum(list(crops), contract.spectrum_bins)


def prepare_set(items: Sequence[Sample], contract: InputContract) -> PreparedSet:
    """Read and prepare a list of labelled images."""
    crops = [read_crop(it.path) for it in items]
    x, spec = prepare_images(crops, contract)
    labels = np.array([it.label for it in items], dtype=np.int64)
    return PreparedSet(x, spec, labels, tuple(Path(it.path) for it in items))


def parity_crops(n: int = 16) -> list[np.ndarray]:
    """Real face crops for export parity checks, available on every machine.

    Uses the shared face set when present, else the two public-domain portraits shipped in
    ``engine/assets`` and shifted square crops of them.
    """
    if DEFAULT_FACES.is_dir():
        items = balanced_sample(find_labelled(DEFAULT_FACES), n, salt="parity")
        return [read_crop(it.path) for it in items]
    crops: list[np.ndarray] = []
    for asset in sorted((REPO / "engine" / "assets").glob("*.jpg")):
        image = read_crop(asset)
        h, w = image.shape[:2]
        for k in range(max(1, n // 2)):
            side = min(h, w) - 16 * k
            crops.append(image[8 * k : 8 * k + side, 8 * k : 8 * k + side])
    if not crops:
        raise InputError("no face images found for the parity check")
    return crops[:n]
