"""Labelled faces: the one record, the one labelling rule, discovery and the split.

Everything that reads labelled data (training, ``evaluate``, calibration, the export gates,
``data split``, the clip evaluation of ``bench/video_accuracy.py``) goes through this module:

- the record: :class:`Sample`, one labelled file (an image, or a clip for the video tools);
- the labelling rule: a file's label is that of the nearest folder above it, the root it was
  found from included, whose lower-cased name starts with ``real`` (label 0) or ``fake``
  (label 1): ``real/``, ``fake/``, ``fake-deepfakes/``, ``real_youtube/`` ...; files with no
  such folder are not labelled;
- discovery: :func:`find_labelled` (records) over :func:`labelled_files` (the one walk);
- the split: :func:`assign_split` of a group key, with the project's fractions
  :data:`VAL_FRACTION` and :data:`TEST_FRACTION` (the training config's defaults, the source
  registry's, calibration's and evaluation's).

How a source groups its files, and so which split each file lands in, is the source
registry's business (:mod:`train.sources`). No torch here, nor anything beyond the runtime:
calibration, export, the benchmark and the command line import this without the train extra.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UsageError
from engine.io import IMAGE_SUFFIXES

SPLITS = ("train", "val", "test")
# The project's split: fractions of groups for validation and test. Training (DataConfig),
# the source registry, calibration, evaluation and the video frames all default to these.
VAL_FRACTION = 0.1
TEST_FRACTION = 0.2
# Label 0 and 1 by name, as the clip reports and label CSVs spell them.
LABEL_NAMES = ("real", "fake")


@dataclass(frozen=True)
class Sample:
    """One labelled file (a face image; a clip for the video tools).

    Attributes:
        path: the file, as a string: training keys face detections and view caches by it
            (absolute when it came from the source registry or a manifest).
        label: 1 = fake, 0 = real.
        source: ``<parent>/<label folder>``, e.g. ``utkface/real`` (metrics are per source).
        split: ``train``, ``val`` or ``test`` ("" when not split).
        group: the key the split was drawn from ("" when not split).
    """

    path: str
    label: int
    source: str
    split: str = ""
    group: str = ""


def label_of_folder(name: str) -> int | None:
    """``real*`` -> 0, ``fake*`` -> 1 (case-insensitive), anything else -> None."""
    low = name.lower()
    if low.startswith("real"):
        return 0
    if low.startswith("fake"):
        return 1
    return None


def label_of_name(name: str) -> int:
    """``real`` -> 0, ``fake`` -> 1 (a label written out, as in a label CSV).

    Raises:
        ValueError: any other text.
    """
    low = name.strip().lower()
    if low not in LABEL_NAMES:
        raise ValueError(f"label must be real or fake, not {name!r}")
    return LABEL_NAMES.index(low)


def label_folder(path: str | Path, root: str | Path | None = None) -> Path | None:
    """The nearest labelled folder above ``path``, up to and including ``root`` (None: any).

    ``path`` and ``root`` must be spelled alike (both relative, or both absolute).
    """
    stop = Path(root) if root is not None else None
    for folder in Path(path).parents:
        if label_of_folder(folder.name) is not None:
            return folder
        if folder == stop:
            break
    return None


def label_of_path(path: str | Path, root: str | Path | None = None) -> int | None:
    """The label of a file by the rule above (None when no labelled folder is above it)."""
    folder = label_folder(path, root)
    return None if folder is None else label_of_folder(folder.name)


def folder_name(folder: Path) -> str:
    """A folder's name, also for ``.`` (whose name is empty): the resolved folder's."""
    return folder.name or folder.resolve().name


def source_of(label_dir: Path) -> str:
    """``<parent>/<label folder>`` of a labelled folder, e.g. ``ffhq-vs-stylegan1/real``."""
    return f"{folder_name(label_dir.parent)}/{label_dir.name}"


def file_group(path: Path, label_dir: Path) -> str:
    """The group key of a file grouped by itself: ``<source>/<path below the label folder>``.

    The same whether the walk started at ``faces/`` or at ``faces/ffhq-vs-stylegan1/``.
    """
    return f"{source_of(label_dir)}/{path.relative_to(label_dir).as_posix()}"


def _files(root: Path, suffixes: Iterable[str]) -> list[Path]:
    """Every file below ``root`` with one of ``suffixes``, sorted as paths.

    Symbolic links to folders are followed (a faces root may link its sources in), each real
    folder once.
    """
    wanted = {s.lower() for s in suffixes}
    seen: set[str] = set()
    found: list[Path] = []
    for top, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()  # which spelling of a folder linked twice is kept: the first by name
        real = os.path.realpath(top)
        if real in seen:  # a link loop, or a folder linked twice
            dirs[:] = []
            continue
        seen.add(real)
        for name in files:
            path = Path(top) / name
            if path.suffix.lower() in wanted and path.is_file():
                found.append(path)
    return sorted(found)


def labelled_files(
    root: str | Path, suffixes: Iterable[str] = IMAGE_SUFFIXES
) -> tuple[list[tuple[Path, Path]], int]:
    """The one walk: (file, its labelled folder) for every labelled file below ``root``.

    Args:
        root: any folder; it may itself be a labelled folder.
        suffixes: file suffixes to consider (lower case, with the dot).

    Returns:
        The pairs sorted by file path, and how many files with those suffixes had no labelled
        folder above them (up to ``root``).

    Raises:
        UsageError: ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"folder not found: {root}")
    pairs, unlabelled = [], 0
    for path in _files(root, suffixes):
        folder = label_folder(path, root)
        if folder is None:
            unlabelled += 1
        else:
            pairs.append((path, folder))
    return pairs, unlabelled


def find_labelled(
    roots: str | Path | Iterable[str | Path], suffixes: Iterable[str] = IMAGE_SUFFIXES
) -> list[Sample]:
    """Every labelled file below the roots, as records with no split or group yet.

    Paths are spelled as found from each root (not resolved); the records come root by root,
    each root's sorted by path.

    Raises:
        UsageError: a root is not a folder or holds no labelled file.
    """
    if isinstance(roots, (str, Path)):
        roots = [roots]
    suffixes = tuple(suffixes)
    out: list[Sample] = []
    for root in roots:
        pairs, _ = labelled_files(root, suffixes)
        if not pairs:
            raise UsageError(f"{root} has no file of these kinds ({' '.join(sorted(suffixes))})"
                             " in a real*/fake* folder")
        out += [Sample(str(path), int(label_of_folder(folder.name)), source_of(folder))
                for path, folder in pairs]
    return out


def check_fractions(val: float, test: float) -> None:
    """Raise UsageError unless 0 <= val, test and val + test < 1."""
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise UsageError(f"need 0 <= val, test and val + test < 1, got val={val}, test={test}")


def assign_split(group: str, val: float, test: float, seed: int = 0) -> str:
    """The split of a group key, a function of the key alone.

    ``u = sha256(f"{seed}:{group}")`` read as a number in [0, 1); ``u < test`` -> test,
    ``u < test + val`` -> val, else train. So the split does not depend on the order of files,
    on the machine, or on which other files exist (adding data never moves old files), and all
    members of a group land in the same split; the proportions are those of the group hashes.
    """
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < test:
        return "test"
    if u < test + val:
        return "val"
    return "train"
