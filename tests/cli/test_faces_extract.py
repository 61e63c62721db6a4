"""`deepscreen faces extract`: crops, manifest, video frames, and skipping a corrupt input."""

from __future__ import annotations

import csv
import json
import shutil

import cv2
import numpy as np
import pytest
import skimage.data

from deepscreen_cli.app import main
from engine.errors import UsageError
from engine.faces_extract import (
    MANIFEST_COLUMNS,
    ExtractOptions,
    FaceExtractor,
    discover_inputs,
)
from tests.conftest import shared_path


def _run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    return done.value.code or 0


@pytest.fixture
def input_tree(tmp_path):
    """real/astronaut.png, real/broken.jpg (corrupt), fake/coffee.png (no face), a short video."""
    root = tmp_path / "inputs"
    (root / "real").mkdir(parents=True)
    (root / "fake").mkdir()
    astronaut = np.ascontiguousarray(skimage.data.astronaut()[:, :, ::-1])
    cv2.imwrite(str(root / "real" / "astronaut.png"), astronaut)
    (root / "real" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    cv2.imwrite(str(root / "fake" / "coffee.png"), skimage.data.coffee()[:, :, ::-1])
    video = root / "real" / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (512, 512))
    for shift in range(6):
        writer.write(np.roll(astronaut, shift * 4, axis=1))
    writer.release()
    return root


def _manifest(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_extract_skips_corrupt_file_and_counts_it(input_tree, tmp_path) -> None:
    out = tmp_path / "out"
    code = _run_cli(
        "faces", "extract", str(input_tree), "--out", str(out), "--every", "2", "--min-face", "40"
    )
    assert code == 0
    rows = _manifest(out / "manifest.csv")
    assert list(rows[0].keys()) == MANIFEST_COLUMNS
    summary = json.loads((out / "summary.json").read_text())
    assert summary["images"] == 2 and summary["videos"] == 1
    assert [f["source"].endswith("broken.jpg") for f in summary["failed"]] == [True]
    assert summary["frames"] == 2 + 3  # two images, frames 0, 2, 4 of the video
    assert summary["frames_without_face"] == 1  # the coffee cup
    video_rows = [r for r in rows if r["source"].endswith("clip.avi")]
    assert [int(r["frame"]) for r in video_rows] == [0, 2, 4]
    assert [float(r["t"]) for r in video_rows] == pytest.approx([0.0, 0.4, 0.8])
    assert len(rows) == summary["faces"] == 4
    for row in rows:
        crop = cv2.imread(str(out / row["crop"]))
        box_side = max(float(row["x2"]) - float(row["x1"]), float(row["y2"]) - float(row["y1"]))
        # Native resolution: the crop is the box side plus 25 % margin, not resampled.
        assert crop.shape == (int(row["crop_size"]),) * 2 + (3,)
        assert abs(crop.shape[0] - box_side * 1.25) <= 1
        assert 0.9 < float(row["score"]) <= 1
    # The labelled tree is mirrored under crops/ (so it can be split by folder label).
    assert (out / "crops" / "inputs" / "real" / "astronaut_0.png").is_file()
    assert (out / "crops" / "inputs" / "real" / "clip" / "000002_0.png").is_file()


def test_size_and_margin(tmp_path) -> None:
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), skimage.data.astronaut()[:, :, ::-1])
    items = discover_inputs([image])
    opts = ExtractOptions(size=64, margin=0.5, min_face=40)
    summary = FaceExtractor(tmp_path / "out", opts).run(items)
    assert summary.faces == 1
    (row,) = _manifest(tmp_path / "out" / "manifest.csv")
    assert row["crop_size"] == "64"
    assert cv2.imread(str(tmp_path / "out" / row["crop"])).shape == (64, 64, 3)


def test_shared_faces_and_video(tmp_path) -> None:
    src = shared_path("faces", "ffhq-vs-stylegan1", "fake")
    folder = tmp_path / "fake"
    folder.mkdir()
    for p in sorted(src.glob("*.jpg"))[:3]:
        shutil.copy(p, folder / p.name)
    video = shared_path("videos", "ffpp-c23", "fake-deepfakes", "519_515.mp4")
    out = tmp_path / "out"
    opts = ExtractOptions(every=100, max_faces=1, min_face=40)
    summary = FaceExtractor(out, opts).run(discover_inputs([folder, video]))
    assert summary.failed_count == 0
    assert summary.images == 3 and summary.videos == 1
    assert summary.faces == summary.frames - summary.frames_without_face
    assert summary.frames_without_face == 0


def test_all_inputs_failing_is_an_error(tmp_path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    assert _run_cli("faces", "extract", str(bad), "--out", str(tmp_path / "o")) == 2


def test_missing_input_is_a_usage_error(tmp_path) -> None:
    with pytest.raises(UsageError):
        discover_inputs([tmp_path / "nowhere"])
    assert _run_cli("faces", "extract", str(tmp_path / "nowhere"), "--out", str(tmp_path)) == 2
