"""bench/region_recall.py on the real street clip: both region searches find the tracked faces
again, and the table says how many of each."""

from __future__ import annotations

import json

from bench import region_recall
from tests.shared_data import shared_path


def test_both_searches_find_most_tracked_faces_again() -> None:
    shared_path("videos", "multiface", "street.mp4")  # skips without the shared data
    rows = region_recall.measure([5], step=30)
    (row,) = rows
    assert row.gap == 5 and row.pairs == 4
    assert row.near >= 3 * row.pairs  # several faces a frame, most of them near a track
    # Five frames on, each region search finds at least 90 % of what the full frame finds
    # near the tracks, and returns no more faces than the full frame has.
    for found, returned in ((row.pyramid_found, row.pyramid), (row.refine_found, row.refine)):
        assert found >= 0.9 * row.near
        assert returned <= row.full + row.pairs
    table = region_recall.markdown(rows)
    assert f"| 5 | 4 | {row.full} / {row.pyramid} / {row.refine} | {row.near} |" in table


def test_main_writes_the_rows(tmp_path, capsys) -> None:
    shared_path("videos", "multiface", "street.mp4")
    out = tmp_path / "recall.json"
    assert region_recall.main(["--gaps", "10", "--step", "60", "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())
    assert row["gap"] == 10 and row["pairs"] == 2
    assert "| 10 | 2 |" in capsys.readouterr().out
