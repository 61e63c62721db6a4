"""research/age_probe.py: UTKFace TNR per age bracket in both framings, on real UTKFace faces."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.shared_data import shared_path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "research"))

from age_probe import age_of  # noqa: E402


def test_age_is_read_from_utkface_names_only() -> None:
    assert age_of("/x/utkface/real/10_0_0_20170103200329407.jpg.chip.jpg") == 10
    assert age_of("/x/utkface/real/1_1_2_2016.jpg.chip.jpg") == 1
    assert age_of("/x/lfw/real/Aaron_Peirsol_0001.jpg") is None


def test_probe_prints_each_bracket_in_both_framings(tmp_path: Path) -> None:
    utk = shared_path("faces", "utkface", "real")
    # Two faces per bracket of interest (a child, a teenager, adults): enough to fill rows.
    picked: dict[int, list[Path]] = {}
    for f in sorted(utk.iterdir()):
        age = age_of(str(f))
        bracket = next((lo for lo in (0, 3, 10, 20, 40, 60) if age is not None and age >= lo
                        and (lo == 60 or age < {0: 3, 3: 10, 10: 20, 20: 40, 40: 60}[lo])), None)
        if bracket is not None and len(picked.setdefault(bracket, [])) < 2:
            picked[bracket].append(f)
    folder = tmp_path / "faces" / "utkface" / "real"
    folder.mkdir(parents=True)
    for files in picked.values():
        for f in files:
            os.symlink(f, folder / f.name)
    out = subprocess.run(
        [sys.executable, "research/age_probe.py", "engine/models/classifier.onnx",
         "--faces", str(tmp_path / "faces"), "--cache-dir", str(tmp_path / "cache")],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith("| utkface/real TNR")]
    assert len(rows) == 7  # six brackets and all ages
    assert rows[0].startswith("| utkface/real TNR, age 00-02 (n=2) |")
    assert rows[-1].startswith("| utkface/real TNR, all ages (n=12) |")
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")[1:]]
        assert len(cells) == 3  # canonical, fitted, image share of the square
        assert all(0.0 <= float(c) <= 1.0 for c in cells)
