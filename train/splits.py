"""``deepscreen data split``: a labelled folder tree split into train/val/test, as a manifest CSV.

Labels follow the project's one rule and the split its one function (:mod:`train.labelled`): the
nearest ``real*``/``fake*`` folder above a file gives its label, files with no such folder are
left out (and counted), and the split of a file is :func:`train.labelled.assign_split` of its
group key, so all members of a group land in the same split.

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
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UsageError
from engine.io import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from train.labelled import (
    Sample,
    assign_split,
    check_fractions,
    file_group,
    label_of_folder,
    labelled_files,
    source_of,
)

MANIFEST_COLUMNS = ("path", "label", "source", "group", "split")


@dataclass(frozen=True)
class SplitResult:
    """Outcome of :func:`split_tree`.

    Attributes:
        items: labelled files with their split, sorted by path (absolute paths).
        unlabelled: files skipped because no real*/fake* folder is above them.
        ungrouped: files not found in the groups CSV (each became its own group).
        groups_file: the groups CSV used, if any.
    """

    items: list[Sample]
    unlabelled: int
    ungrouped: int
    groups_file: Path | None = None

    def counts(self) -> Counter:
        """Number of files per (split, label)."""
        return Counter((item.split, item.label) for item in self.items)


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
    check_fractions(val, test)
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"not a folder: {root}")
    if groups is None:
        groups = find_extract_manifest(root)
    group_map = read_groups(Path(groups)) if groups is not None else None
    pairs, unlabelled = labelled_files(root, IMAGE_SUFFIXES | VIDEO_SUFFIXES)
    items, ungrouped = [], 0
    for path, label_dir in pairs:
        group = file_group(path, label_dir)
        if group_map is not None:
            mapped = group_map.get(path.resolve())
            if mapped is None:
                ungrouped += 1
            else:
                group = mapped
        items.append(Sample(str(path.resolve()), int(label_of_folder(label_dir.name)),
                            source_of(label_dir), assign_split(group, val, test, seed), group))
    if not items:
        raise UsageError(f"no file below {root} sits in a real*/fake* folder")
    return SplitResult(items, unlabelled, ungrouped, Path(groups) if groups else None)


def _portable(path: str, base: Path) -> str:
    try:
        return Path(os.path.relpath(path, base.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return Path(path).as_posix()


def write_manifest(items: list[Sample], out: str | Path) -> Path:
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


def read_manifest(path: str | Path) -> list[Sample]:
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
            items.append(Sample(str(p), int(row["label"]), row["source"], row["split"],
                                row["group"]))
    return items
