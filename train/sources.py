"""The registry of labelled face sources: what each source is, how it groups, how it splits.

Every labelled folder below a faces root (``ROOT/<source>/<real*|fake*>/``) is one *source*;
files, labels and the split function are :mod:`train.labelled`'s (the project's one record,
labelling rule and split). Each source has a grouping rule, and the split of a file is a
function of its group key alone (:func:`train.labelled.assign_split`), so:

- ``dfdc-faces`` groups by ``source_video`` from its ``manifest.csv``: a real crop and the fake
  made from the same video always land on the same side;
- ``lfw``, ``imfdb`` and ``london-studio`` group by person (the file name without its trailing
  ``_N``), so one person's photos never straddle splits; ``deepfacelive`` frames
  (``<demo>_<frame>``) group by demo the same way, so its real and swapped halves stay together;
- everything else groups by file (``<source>/<label folder>/<file>``).

Sources marked ``heldout`` (``stylegan2-tpdne``: an unseen generator, ``utkface``: an unseen
real population) never enter training: all their files get the split ``test``. A folder that is
not in the registry still works (file grouping, trainable) and is named in a log line, so new
data is used rather than silently ignored.

No torch here: the runtime-free parts of training, calibration and the CLI import this.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine.errors import UsageError
from engine.io import IMAGE_SUFFIXES
from train.labelled import (
    TEST_FRACTION,
    VAL_FRACTION,
    Sample,
    assign_split,
    check_fractions,
    folder_name,
    label_folder,
    label_of_folder,
    labelled_files,
)

log = logging.getLogger(__name__)

GROUP_FILE = "file"
GROUP_PERSON = "person"
GROUP_MANIFEST = "manifest"


@dataclass(frozen=True)
class SourceSpec:
    """How one labelled source is grouped and used.

    Attributes:
        name: folder name below the faces root, e.g. ``dfdc-faces``.
        grouping: ``file``, ``person`` (name before the trailing ``_N``) or ``manifest``.
        heldout: never trained on; every file is in the test split.
        manifest_column: for ``manifest`` grouping, the CSV column holding the group.
        note: what the source is, for reports.
    """

    name: str
    grouping: str = GROUP_FILE
    heldout: bool = False
    manifest_column: str = ""
    note: str = ""


REGISTRY: dict[str, SourceSpec] = {
    spec.name: spec
    for spec in (
        SourceSpec("ffhq-vs-stylegan1", note="FFHQ photos vs StyleGAN1 faces, same JPEG pipeline"),
        SourceSpec("dfdc-faces", GROUP_MANIFEST, manifest_column="source_video",
                   note="DFDC face swaps and their source-video reals"),
        SourceSpec("lfw", GROUP_PERSON, note="LFW-derived real photos"),
        SourceSpec("imfdb", GROUP_PERSON, note="IMFDB-style small real crops"),
        SourceSpec("sd21-sdfd", note="Stable Diffusion 2.1 faces"),
        # NNN_1 / NNN_2: both photos of a person on one side of the split.
        SourceSpec("london-studio", GROUP_PERSON,
                   note="sharp 1024 px studio photos of real people (the only sharp real source)"),
        # Frames of the DeepFaceLive demos (train.video_frames), named <demo>_<frame>: a demo's
        # real webcam half and its live-swap half share the group, so they never straddle splits.
        SourceSpec("deepfacelive", GROUP_PERSON,
                   note="DeepFaceLive live face swaps and their real webcam halves (video frames)"),
        SourceSpec("stylegan2-tpdne", heldout=True, note="unseen generator (StyleGAN2)"),
        SourceSpec("utkface", heldout=True, note="unseen real population"),
    )
}

_PERSON = re.compile(r"^(?P<person>.+?)_\d+$")


def spec_for(name: str) -> SourceSpec:
    """The registry entry of a source folder name (file grouping when it is unknown)."""
    return REGISTRY.get(name, SourceSpec(name))


def person_of(file_name: str) -> str:
    """``Abdul_Rahman_0001.jpg`` -> ``Abdul_Rahman``; a name without ``_N`` is its own person."""
    stem = Path(file_name).stem
    match = _PERSON.match(stem)
    return match.group("person") if match else stem


@lru_cache(maxsize=32)
def _manifest_groups(source_dir: str, column: str) -> dict[str, str]:
    """Resolved path -> group from a source's ``manifest.csv``."""
    manifest = Path(source_dir) / "manifest.csv"
    if not manifest.is_file():
        raise UsageError(f"{source_dir}: grouping needs {manifest}, which is missing")
    with manifest.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if column not in (reader.fieldnames or ()) or "path" not in (reader.fieldnames or ()):
            raise UsageError(f"{manifest}: need columns path,{column}")
        return {
            str((manifest.parent / row["path"]).resolve()): row[column] for row in reader
        }


def group_of(path: Path, spec: SourceSpec, label_dir: Path) -> str:
    """The group key of one file of a source (see the module docstring)."""
    rel = path.relative_to(label_dir).as_posix()
    if spec.grouping == GROUP_PERSON:
        return f"{spec.name}/person/{person_of(path.name)}"
    if spec.grouping == GROUP_MANIFEST:
        groups = _manifest_groups(str(label_dir.parent.resolve()), spec.manifest_column)
        key = groups.get(str(path.resolve()))
        if key is None:
            log.warning("%s is not in %s's manifest: grouped by file", path, spec.name)
            return f"{spec.name}/{label_dir.name}/{rel}"
        return f"{spec.name}/{spec.manifest_column}/{key}"
    return f"{spec.name}/{label_dir.name}/{rel}"


def split_for(group: str, spec: SourceSpec, val: float, test: float, seed: int) -> str:
    """Held-out sources are all test; the rest follow the group hash."""
    return "test" if spec.heldout else assign_split(group, val, test, seed)


def split_samples(root: str | Path, split: str) -> list[Sample]:
    """The samples of one split (``"train"``, ``"val"`` or ``"test"``) with the default fractions
    and seed: the split training, ``evaluate``, the probes and ``export ensemble`` all use."""
    return [s for s in load_sources(root) if s.split == split]


def load_sources(
    root: str | Path,
    names: Sequence[str] | None = None,
    val: float = VAL_FRACTION,
    test: float = TEST_FRACTION,
    seed: int = 0,
) -> list[Sample]:
    """Every labelled image below a faces root (or one source folder), with group and split.

    Args:
        root: a faces root (``faces/``), one source (``faces/lfw``) or one label folder.
        names: keep only these sources (folder names); None keeps all.
        val, test: fractions of groups for validation and test (held-out sources: all test).
        seed: changes the assignment while keeping it deterministic.

    Raises:
        UsageError: a missing root, an unknown name in ``names``, or no labelled image.
    """
    check_fractions(val, test)
    pairs, _ = labelled_files(root, IMAGE_SUFFIXES)
    samples: list[Sample] = []
    seen: set[str] = set()
    for path, label_dir in pairs:
        name = folder_name(label_dir.parent)
        if names is not None and name not in names:
            continue
        if name not in seen and name not in REGISTRY:
            log.info("source %s is not in the registry: grouped by file, trainable", name)
        seen.add(name)
        spec = spec_for(name)
        group = group_of(path, spec, label_dir)
        split = split_for(group, spec, val, test, seed)
        samples.append(Sample(str(path.resolve()), int(label_of_folder(label_dir.name)),
                              f"{name}/{label_dir.name}", split, group))
    if names is not None and set(names) - seen:
        raise UsageError(f"no labelled folder for source(s) {sorted(set(names) - seen)} in {root}")
    if not samples:
        raise UsageError(f"{root} has no real*/fake* folder with images")
    return samples


def split_of_path(
    path: str | Path, val: float = VAL_FRACTION, test: float = TEST_FRACTION, seed: int = 0
) -> str:
    """The split of one file inside ``<source>/<real*|fake*>/``, by the registry's rules.

    Files outside a labelled folder have no split ("").
    """
    path = Path(path).resolve()
    label_dir = label_folder(path)
    if label_dir is None:
        return ""
    spec = spec_for(label_dir.parent.name)
    return split_for(group_of(path, spec, label_dir), spec, val, test, seed)


def source_name(source: str) -> str:
    """``dfdc-faces/real`` -> ``dfdc-faces``."""
    return source.split("/", 1)[0]


def trainable(samples: Iterable[Sample]) -> list[Sample]:
    """The samples of sources that may be trained on (held-out sources removed)."""
    return [s for s in samples if not spec_for(source_name(s.source)).heldout]


def balanced_weights(samples: Sequence[Sample], power: float = 0.5) -> list[float]:
    """Sampling weights that temper source imbalance and balance the classes.

    Each sample of a source (``name/label``) of size n gets weight ``n ** -power``: power 0
    samples files uniformly (DFDC, 8x larger than any other source, would dominate), power 1
    gives every source the same mass (a 280-image source would then repeat 30 times an epoch
    and be memorised); 0.5 sits between. The two classes are then scaled to equal mass.
    """
    if not samples:
        return []
    sizes = Counter(s.source for s in samples)
    raw = [sizes[s.source] ** -power for s in samples]
    mass = Counter()
    for s, w in zip(samples, raw, strict=True):
        mass[s.label] += w
    return [w / (2.0 * mass[s.label]) for s, w in zip(samples, raw, strict=True)]


def with_sbi_source(
    samples: Sequence[Sample], sample: Sequence[int], sbi: Sequence[bool]
) -> list[Sample]:
    """The sample behind each training item, self-blended items as a fake source ``sbi``.

    ``sample[k]`` indexes ``samples``; ``sbi[k]`` marks item k as a self-blended pseudo-fake
    of that image, which :func:`balanced_weights` then balances as a source of its own.
    """
    return [Sample(samples[i].path, 1, "sbi/fake") if b else samples[i]
            for i, b in zip(sample, sbi, strict=True)]


def describe(samples: Sequence[Sample]) -> list[dict[str, object]]:
    """Rows of (source, label, train/val/test counts, groups) for logs and docs."""
    rows = []
    for source in sorted({s.source for s in samples}):
        mine = [s for s in samples if s.source == source]
        counts = Counter(s.split for s in mine)
        rows.append({
            "source": source,
            "label": mine[0].label,
            "train": counts.get("train", 0),
            "val": counts.get("val", 0),
            "test": counts.get("test", 0),
            "groups": len({s.group for s in mine}),
        })
    return rows
