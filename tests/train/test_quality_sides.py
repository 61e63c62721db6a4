"""The per-face-side table behind the vote floor (`evaluate --quality-bins --bin-sides`)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tests.shared_data import mini_registry
from train.quality_bins import (
    FaceMeasure,
    SideRow,
    choose_floor,
    parse_edges,
    rank_auc,
    side_table,
)


def test_parse_edges_adds_zero_and_infinity() -> None:
    assert parse_edges("20,32,48") == (0.0, 20.0, 32.0, 48.0, math.inf)
    assert parse_edges("0,48") == (0.0, 48.0, math.inf)
    for bad in ("48,32", "a,b", "", "-1,4"):
        with pytest.raises(ValueError):
            parse_edges(bad)


def test_rank_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    p = np.round(rng.random(300), 1) + 0.1 * y  # many ties
    assert rank_auc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert math.isnan(rank_auc(np.zeros(4), np.arange(4.0)))


def test_small_fakes_passed_as_real_set_the_floor() -> None:
    """Small faces ranked fairly (AUC 1) but scored under the threshold: the floor is above
    them, though their AUC alone would pass."""
    faces = []
    for side, fake_p in ((30.0, 0.4), (50.0, 0.9), (120.0, 0.95)):
        faces += [FaceMeasure(0, 0.1, side, 300.0, "s") for _ in range(8)]
        faces += [FaceMeasure(1, fake_p, side, 300.0, "s") for _ in range(8)]
    rows = side_table(faces, parse_edges("40,96"), threshold=0.5)
    small, mid, big = rows
    assert (small.n_real, small.n_fake, small.auc, small.tpr, small.tnr) == (8, 8, 1.0, 0.0, 1.0)
    assert mid.tpr == big.tpr == 1.0 and mid.auc_lo <= mid.auc <= mid.auc_hi
    assert choose_floor(rows) == 40.0
    # A bin without both classes does not count either way.
    one_class = [*rows, SideRow((200.0, math.inf), 5, 0, math.nan, math.nan, math.nan,
                                math.nan, 1.0)]
    assert choose_floor(one_class) == 40.0
    assert choose_floor(rows, min_tpr=0.0) == 0.0


def test_bin_sides_on_the_cli_writes_the_side_table(tmp_path) -> None:
    faces = mini_registry(tmp_path, per_class=20)
    out = tmp_path / "bins"
    run = subprocess.run([sys.executable, "-m", "deepscreen_cli.app", "evaluate", "--sources",
                          str(faces), "--quality-bins", "1,0.25", "--bin-sides", "32,64,128",
                          "--out", str(out), "--cache-dir", str(tmp_path / "cache")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    text = (out / "quality_sides.md").read_text()
    assert "| 32-64 |" in text and "| >= 128 |" in text and "Vote floor supported" in text
    # The 2D table takes the same side edges.
    assert "| 64-128 |" in (out / "quality_bins.md").read_text()


def test_bad_bin_sides_are_a_usage_error(tmp_path) -> None:
    run = subprocess.run([sys.executable, "-m", "deepscreen_cli.app", "evaluate", "--sources",
                          str(tmp_path), "--quality-bins", "1", "--bin-sides", "64,32"],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "--bin-sides" in run.stderr and "Traceback" not in run.stderr
