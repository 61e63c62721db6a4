"""Deterministic train/val/test splits of a labelled folder tree, written as a manifest CSV.

Labels come from folder names: the nearest folder (the root included) whose lower-cased name
starts with ``real`` gives label 0, with ``fake`` label 1 (``real/``, ``fake/``,
``fake-deepfakes/``, ``real_youtube/`` ...). Files with no such folder above them are not
labelled and are left out (and counted).

Each file belongs to a *group*, and the split is a function of the group key alone:
``u = sha256(f"{seed}:{group}")`` read as a number in [0, 1); ``u < test`` -> test,
``u < test + val`` -> val, else train. So the split does not depend on the order of files, on the
machine, or on which other files exist (adding data never moves old files), and all members of
a group land in the same split. The proportions are those of the group hashes, close to
``val``/``test`` for many groups but not exact.

Group key: by default the file itself, as ``<source>/<path below the label folder>``, so it is
the same whether ROOT is ``faces/`` or ``faces/ffhq-vs-stylegan1/``. For crops cut from videos
by ``deepscreen faces extract``, pass its manifest (``groups``): every crop is then grouped by
its ``source`` file (the video), so frames of one video never straddle splits. When ROOT lies
inside a faces-extract output (``OUT/crops/...`` next to ``OUT/manifest.csv``), that manifest is
used automatically. Any CSV with columns ``path,group`` works the same way (paths relative to
that CSV's folder or absolute).

Manifest columns (one row per file, sorted by path), read by training and evaluation:

- ``path``: the file, relative to the manifest's folder (absolute if on another drive);
- ``label``: 1 = fake, 0 = real;
- ``source``: ``<parent folder>/<label folder>`` of the file, e.g. ``ffhq-vs-stylegan1/real``
  (report metrics per source: each source has its own resolution and compression);
- ``group``: the group key described above;
- ``split``: ``train``, ``val`` or ``test``.

No torch here: this module runs without the ``train`` extra.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UsageError
from engine.io import IMAGE_SUFFIXES, VIDEO_SUFFIXES

SPLITS = ("train", "val", "test")
MANIFEST_COLUMNS = ("path", "label", "source", "group", "split")


@dataclass(frozen=True)
class SplitItem:
    """One manifest row. ``path`` is absolute in memory, relative to the manifest on disk."""

    path: Path
    label: int
    source: str
    group: str
    split: str = ""


@dataclass(frozen=True)
class SplitResult:
    """Outcome of :func:`split_tree`.

    Attributes:
        items: labelled files with their split, sorted by path.
        unlabelled: files skipped because no real*/fake* folder is above them.
        ungrouped: files not found in the groups CSV (each became its own group).
        groups_file: the groups CSV used, if any.
    """

    items: list[SplitItem]
    unlabelled: int
    ungrouped: int
    groups_file: Path | None = None

    def counts(self) -> Counter:
        """Number of files per (split, label)."""
        return Counter((item.split, item.label) for item in self.items)


def label_of_folder(name: str) -> int | None:
    """``real*`` -> 0, ``fake*`` -> 1 (case-insensitive), anything else -> None."""
    low = name.lower()
    if low.startswith("real"):
        return 0
    if low.startswith("fake"):
        return 1
    return None


def assign_split(group: str, val: float, test: float, seed: int = 0) -> str:
    """The split of a group key (see the module docstring)."""
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < test:
        return "test"
    if u < test + val:
        return "val"
    return "train"


def _label_and_key(root: Path, path: Path) -> tuple[int, str, str] | None:
    """(label, source, file key) from the nearest labelled folder above ``path``."""
    rel = path.relative_to(root)
    folders = [root, *(root / Path(*rel.parts[: i + 1]) for i in range(len(rel.parts) - 1))]
    for folder in reversed(folders):
        label = label_of_folder(folder.name)
        if label is not None:
            parent = folder.parent.name or folder.parent.resolve().name
            source = f"{parent}/{folder.name}"
            return label, source, f"{source}/{path.relative_to(folder).as_posix()}"
    return None


def read_groups(csv_path: Path) -> dict[Path, str]:
    """Map resolved file path -> group key from a faces-extract manifest or a path,group CSV."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise UsageError(f"groups file not found: {csv_path}")
    with csv_path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = set(reader.fieldnames or ())
        if {"crop", "source"} <= fields:
            path_col, group_col = "crop", "source"
        elif {"path", "group"} <= fields:
            path_col, group_col = "path", "group"
        else:
            raise UsageError(
                f"{csv_path}: need columns crop,source (faces extract manifest) or path,group"
            )
        groups = {}
        for row in reader:
            p = Path(row[path_col])
            p = p if p.is_absolute() else csv_path.parent / p
            groups[p.resolve()] = row[group_col]
    return groups


def find_extract_manifest(root: Path) -> Path | None:
    """The faces-extract manifest of an output folder that contains ``root``, if any."""
    for folder in [root.resolve(), *root.resolve().parents]:
        manifest = folder.parent / "manifest.csv"
        if folder.name == "crops" and manifest.is_file():
            return manifest
    return None


def split_tree(
    root: str | Path,
    val: float = 0.1,
    test: float = 0.1,
    seed: int = 0,
    groups: str | Path | None = None,
) -> SplitResult:
    """Split every image and video below ``root`` (recursively) into train/val/test.

    Args:
        root: folder tree with real*/fake* folders.
        val: fraction of groups for validation.
        test: fraction of groups for test.
        seed: changes the assignment while keeping it deterministic.
        groups: optional CSV giving each file's group (faces extract manifest or path,group);
            None uses the faces-extract manifest around ``root`` when there is one.

    Returns:
        The split (see :class:`SplitResult`).

    Raises:
        UsageError: bad fractions, missing root, or no labelled file.
    """
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise UsageError(f"need 0 <= val, test and val + test < 1, got val={val}, test={test}")
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"not a folder: {root}")
    if groups is None:
        groups = find_extract_manifest(root)
    group_map = read_groups(Path(groups)) if groups is not None else None
    suffixes = IMAGE_SUFFIXES | VIDEO_SUFFIXES
    items, unlabelled, ungrouped = [], 0, 0
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in suffixes and p.is_file()):
        found = _label_and_key(root, path)
        if found is None:
            unlabelled += 1
            continue
        label, source, group = found
        if group_map is not None:
            mapped = group_map.get(path.resolve())
            if mapped is None:
                ungrouped += 1
            else:
                group = mapped
        split = assign_split(group, val, test, seed)
        items.append(SplitItem(path.resolve(), label, source, group, split))
    if not items:
        raise UsageError(f"no file below {root} sits in a real*/fake* folder")
    return SplitResult(items, unlabelled, ungrouped, Path(groups) if groups else None)


def _portable(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path, base.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


def write_manifest(items: list[SplitItem], out: str | Path) -> Path:
    """Write the manifest CSV (columns MANIFEST_COLUMNS); paths relative to its folder."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(MANIFEST_COLUMNS)
        for item in items:
            rel = _portable(item.path, out.parent)
            writer.writerow([rel, item.label, item.source, item.group, item.split])
    return out


def read_manifest(path: str | Path) -> list[SplitItem]:
    """Read a manifest back, with absolute paths.

    Raises:
        UsageError: the file is missing or lacks the manifest columns.
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"manifest not found: {path}")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = set(MANIFEST_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise UsageError(f"{path} is not a split manifest: missing {sorted(missing)}")
        items = []
        for row in reader:
            p = Path(row["path"])
            p = p if p.is_absolute() else (path.parent / p).resolve()
            items.append(SplitItem(p, int(row["label"]), row["source"], row["group"], row["split"]))
    return items
