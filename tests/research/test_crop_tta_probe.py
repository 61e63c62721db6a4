"""research/crop_tta_probe.py: each framing is the runtime's square crop with its margin or
box moved, on a real photo (scikit-image's astronaut)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from engine.crops import square_crop

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "research"))

from crop_tta_probe import COMBOS, FRAMINGS, framing  # noqa: E402


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    data = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])  # RGB -> BGR, 512x512


BOX = (180.0, 60.0, 300.0, 200.0)  # around the astronaut's face: w 120, h 140


def test_canonical_framing_is_the_runtime_crop(photo) -> None:
    assert np.array_equal(FRAMINGS["canonical"](photo, BOX, 0.25), square_crop(photo, BOX, 0.25))


def test_margins_change_the_side_and_shifts_move_the_square(photo) -> None:
    side = {name: FRAMINGS[name](photo, BOX, 0.25).shape[0] for name in ("tight", "loose")}
    assert side == {"tight": round(140 * 1.15), "loose": round(140 * 1.35)}
    right = FRAMINGS["right"](photo, BOX, 0.25)
    moved = square_crop(photo, (186.0, 60.0, 306.0, 200.0), 0.25)  # 5 % of the width = 6 px
    assert np.array_equal(right, moved)
    assert np.array_equal(framing(dy=0.1)(photo, BOX, 0.25),
                          square_crop(photo, (180.0, 74.0, 300.0, 214.0), 0.25))


def test_every_combination_names_known_framings_and_starts_with_the_shipped_one() -> None:
    assert all(set(names) <= set(FRAMINGS) for names in COMBOS.values())
    assert COMBOS["canonical (shipped)"] == ("canonical",)
    assert COMBOS["all 7"] == tuple(FRAMINGS)
