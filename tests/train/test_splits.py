"""Dataset splits: deterministic, label rule, and no group (video) straddling splits."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from engine.errors import UsageError
from tests.conftest import shared_path
from train.labelled import assign_split
from train.splits import (
    MANIFEST_COLUMNS,
    read_manifest,
    split_tree,
    write_manifest,
)


def _touch_tree(root, layout: dict[str, int]) -> None:
    for folder, n in layout.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            (root / folder / f"img{i:04d}.jpg").write_bytes(b"x")


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "dataset"
    _touch_tree(root, {"real": 300, "fake": 300, "fake-deepfakes": 50, "misc": 7})
    return root


def test_deterministic_and_labelled(tree, tmp_path) -> None:
    a = split_tree(tree, val=0.1, test=0.2, seed=3)
    b = split_tree(tree, val=0.1, test=0.2, seed=3)
    assert a.items == b.items
    assert a.unlabelled == 7
    by_name = {(Path(i.path).parent.name, Path(i.path).name): i for i in a.items}
    assert by_name[("real", "img0000.jpg")].label == 0
    assert by_name[("fake", "img0000.jpg")].label == 1
    assert by_name[("fake-deepfakes", "img0001.jpg")].label == 1
    assert by_name[("fake", "img0000.jpg")].source == "dataset/fake"
    fractions = {s: sum(i.split == s for i in a.items) / len(a.items) for s in ("val", "test")}
    assert 0.06 < fractions["val"] < 0.14 and 0.15 < fractions["test"] < 0.25
    other_seed = split_tree(tree, val=0.1, test=0.2, seed=4)
    assert [i.split for i in other_seed.items] != [i.split for i in a.items]


def test_split_of_a_file_ignores_other_files_and_root(tree) -> None:
    full = {i.path: i.split for i in split_tree(tree).items}
    # Removing files or pointing ROOT at a sub-folder never moves the remaining ones.
    for p in sorted((tree / "real").iterdir())[::2]:
        p.unlink()
    part = {i.path: i.split for i in split_tree(tree / "real").items}
    assert part and all(full[p] == s for p, s in part.items())


def test_manifest_round_trip(tree, tmp_path) -> None:
    result = split_tree(tree)
    out = write_manifest(result.items, tmp_path / "out" / "split.csv")
    with out.open() as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == MANIFEST_COLUMNS
    back = read_manifest(out)
    assert back == result.items
    assert all(Path(p.path).is_file() for p in back)


def test_assign_split_edges() -> None:
    assert assign_split("anything", val=0.0, test=0.0) == "train"
    groups = [f"g{i}" for i in range(2000)]
    assert {assign_split(g, 0.0, 0.999) for g in groups} <= {"test", "train"}


@pytest.mark.parametrize("val, test", [(-0.1, 0.1), (0.5, 0.5), (0.1, 1.0)])
def test_bad_fractions(tree, val, test) -> None:
    with pytest.raises(UsageError):
        split_tree(tree, val=val, test=test)


def test_no_labelled_files(tmp_path) -> None:
    _touch_tree(tmp_path, {"cats": 3})
    with pytest.raises(UsageError):
        split_tree(tmp_path)


def test_video_frames_never_straddle_splits(tmp_path) -> None:
    """Crops of 12 videos from faces extract: every video's frames share one split."""
    from engine.faces_extract import ExtractOptions, FaceExtractor, discover_inputs

    root = tmp_path / "videos"
    astronaut = np.ascontiguousarray(skimage.data.astronaut()[:, :, ::-1])
    small = cv2.resize(astronaut, (128, 128), interpolation=cv2.INTER_AREA)
    for label in ("real", "fake"):
        (root / label).mkdir(parents=True)
        for v in range(6):
            writer = cv2.VideoWriter(
                str(root / label / f"v{v}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (128, 128)
            )
            for shift in range(4):
                writer.write(np.roll(small, shift + v, axis=1))
            writer.release()
    out = tmp_path / "extracted"
    summary = FaceExtractor(out, ExtractOptions(min_face=30)).run(discover_inputs([root]))
    assert summary.videos == 12 and summary.faces >= 40
    # The manifest next to crops/ is found automatically; grouping by source video.
    result = split_tree(out / "crops", val=0.3, test=0.3, seed=1)
    assert result.groups_file is not None and result.ungrouped == 0
    assert len(result.items) == summary.faces
    by_video: dict[str, set[str]] = {}
    for item in result.items:
        by_video.setdefault(item.group, set()).add(item.split)
    assert len(by_video) == 12
    assert all(len(splits) == 1 for splits in by_video.values())
    assert len({next(iter(s)) for s in by_video.values()}) > 1  # more than one split used
    with pytest.raises(UsageError, match="groups file not found"):
        split_tree(out / "crops", groups=tmp_path / "none.csv")


def test_shared_ffhq_cli(tmp_path) -> None:
    root = shared_path("faces", "ffhq-vs-stylegan1")
    out = tmp_path / "split.csv"
    cmd = [sys.executable, "-m", "deepscreen_cli.app", "data", "split", str(root),
           "--out", str(out)]
    first = subprocess.run(cmd, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    text = out.read_text()
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 0
    assert out.read_text() == text
    items = read_manifest(out)
    assert {i.source for i in items} == {"ffhq-vs-stylegan1/real", "ffhq-vs-stylegan1/fake"}
    assert {i.split for i in items} == {"train", "val", "test"}
    assert all(Path(i.path).is_file() for i in items[:20])
