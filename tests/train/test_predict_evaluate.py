"""predict / evaluate with the shipped ONNX model on real images, without torch."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, shared_path
from train.predict import DEFAULT_MODEL

HOPPER = REPO.parent / "shared" / "data" / "images" / "grace_hopper_512x512.jpg"


@pytest.fixture(scope="module")
def shipped() -> Path:
    if not DEFAULT_MODEL.is_file():
        pytest.skip("engine/models/classifier.onnx is not shipped in this checkout")
    return DEFAULT_MODEL


def _run_without_torch(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    # A meta-path finder that refuses torch makes every `import torch` fail, as on an edge box.
    code = (
        "import sys\n"
        "class _NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ImportError('torch is blocked in this test')\n"
        "sys.meta_path.insert(0, _NoTorch())\n"
        "from deepscreen_cli.app import main\n"
        f"main({args!r})\n"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_predict_photo_without_torch(shipped, tmp_path) -> None:
    hopper = shared_path("images", "grace_hopper_512x512.jpg")
    out = tmp_path / "pred.csv"
    proc = _run_without_torch(["predict", str(hopper), "--csv", str(out)], REPO)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["path", "face", "x1", "y1", "x2", "y2", "p_fake", "verdict"]
    assert len(rows) >= 1 and rows[0]["face"] == "0"
    assert 0.0 <= float(rows[0]["p_fake"]) <= 1.0
    assert rows[0]["verdict"] in {"real", "fake"}
    x1, y1, x2, y2 = (float(rows[0][k]) for k in ("x1", "y1", "x2", "y2"))
    assert 0 <= x1 < x2 <= 512 and 0 <= y1 < y2 <= 512


def test_predict_crops_and_no_face(shipped, tmp_path) -> None:
    import numpy as np

    from train.predict import open_scorer, predict_images

    utk = sorted(shared_path("faces", "utkface", "real").iterdir())[:3]
    blank = tmp_path / "blank.png"
    import cv2

    cv2.imwrite(str(blank), np.full((120, 120, 3), 128, np.uint8))
    scorer = open_scorer(shipped)
    rows = predict_images([*utk, blank], scorer, crops=False)
    assert rows[-1].verdict == "no-face" and rows[-1].p_fake is None
    crop_rows = predict_images(utk, scorer, crops=True)
    assert [r.path for r in crop_rows] == [str(p) for p in utk]
    assert all(0 <= r.p_fake <= 1 and r.box is None for r in crop_rows)
    # Same image, same model: the score is reproducible.
    again = predict_images(utk, scorer, crops=True)
    assert [r.p_fake for r in again] == [r.p_fake for r in crop_rows]


def test_evaluate_per_source_report(shipped, tmp_path) -> None:
    data = tmp_path / "mini"
    (data / "real").mkdir(parents=True)
    (data / "fake").mkdir()
    for p in sorted(shared_path("faces", "utkface", "real").iterdir())[:6]:
        (data / "real" / p.name).symlink_to(p)
    for p in sorted(shared_path("faces", "stylegan2-tpdne", "fake").iterdir())[:6]:
        (data / "fake" / p.name).symlink_to(p)
    out = tmp_path / "report"
    proc = _run_without_torch(
        ["evaluate", "--data", str(data), "--out", str(out), "--cache-dir", str(tmp_path / "c")],
        REPO,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "metrics.json").read_text())
    sources = {r["source"]: r for r in report["per_source"]}
    assert set(sources) == {"mini/real", "mini/fake"}
    assert sources["mini/real"]["metric"] == "TNR" and sources["mini/real"]["n"] == 6
    assert 0 <= report["all_sources"]["auc"] <= 1
    m = report["all_sources"]
    assert m["tp"] + m["fn"] == 6 and m["tn"] + m["fp"] == 6
    for png in ("roc.png", "pr.png", "confusion.png"):
        assert (out / png).stat().st_size > 1000
