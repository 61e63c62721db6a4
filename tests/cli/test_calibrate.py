"""`deepscreen calibrate` on real FF++ footage: the Clopper-Pearson bound, the threshold it
chooses, and the threshold written into the stream's entry of a config file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

from engine.config import load_screen_file
from engine.judge.site_threshold import (
    NotEnoughData,
    clopper_pearson_upper,
    fit_threshold,
    track_critical,
    units_needed,
)
from engine.judge.vote import VoteConfig
from tests.shared_data import shared_path
from tests.shipped import shipped_model


def cli(*args: str):
    return subprocess.run([sys.executable, "-m", "deepscreen_cli.app", *args],
                          capture_output=True, text=True, timeout=600, env=dict(os.environ))


def test_clopper_pearson_matches_its_reference_values() -> None:
    # scipy.stats.beta.ppf(confidence, k + 1, n - k), the exact one-sided bound.
    assert clopper_pearson_upper(0, 300) == pytest.approx(1 - 0.05 ** (1 / 300))
    assert clopper_pearson_upper(0, 1000) == pytest.approx(0.002991, abs=1e-6)
    assert clopper_pearson_upper(3, 1000) == pytest.approx(0.007735, abs=2e-6)
    assert clopper_pearson_upper(10, 100, 0.99) == pytest.approx(0.191330, abs=1e-6)
    assert units_needed(0.01) == 299


def test_the_fit_is_the_lowest_threshold_within_the_bound() -> None:
    scores = [i / 1000 for i in range(1000)]  # 0.000 .. 0.999
    fit = fit_threshold(scores, 0.01)
    assert fit.upper_bound <= 0.01 and fit.false_alarms == sum(s >= fit.threshold for s in scores)
    looser = round(fit.threshold - 0.001, 4)  # one more alarm breaks the budget
    assert clopper_pearson_upper(sum(s >= looser for s in scores), 1000) > 0.01
    with pytest.raises(NotEnoughData, match="at least 299"):
        fit_threshold(scores[:100], 0.01)


def test_a_track_alarms_exactly_below_its_critical_threshold() -> None:
    vote = VoteConfig(rule="confident", window=64, min_frames=4, hysteresis=0.05)
    crops = [(p, i / 25, 1.0, None) for i, p in enumerate([0.2, 0.4, 0.7, 0.65, 0.5, 0.3])]
    c = track_critical(crops, vote)
    from engine.judge.site_threshold import _alarms

    assert 0.0 < c < 1.0 and _alarms(crops, vote, c) and not _alarms(crops, vote, c + 1e-4)


def test_calibrate_real_footage_writes_the_stream_threshold(tmp_path) -> None:
    real = shared_path("videos", "ffpp-c23", "real")
    clips = [str(real / n) for n in ("004.mp4", "519.mp4", "634.mp4")]
    config = tmp_path / "screen.yaml"
    config.write_text(textwrap.dedent(f"""\
        model:
          path: {shipped_model()}   # the shipped classifier
        streams:
          lobby:
            source: ${{LOBBY_URL:-lobby.mp4}}
            detect_every: 3   # a busy entrance
        """))
    out = cli("calibrate", *clips, "--config", str(config), "--false-alarm-rate", "0.05",
              "--unit", "face", "--max-frames", "40")
    assert out.returncode == 0, out.stderr
    found = re.search(r"threshold (0\.\d{4}): (\d+) false alarms in (\d+) faces; false-alarm "
                      r"rate <= (0\.\d+)", out.stdout)
    assert found, out.stdout
    threshold, alarms, faces, bound = (float(found[1]), int(found[2]), int(found[3]),
                                       float(found[4]))
    assert faces >= units_needed(0.05) and bound <= 0.05 and alarms <= faces * 0.05
    screen = load_screen_file(config).file  # still a valid file, comments kept
    assert screen.streams["lobby"].threshold == threshold
    assert "# a busy entrance" in config.read_text() and "# calibrate " in config.read_text()
    # Three real clips are three face tracks: far too few to promise 5 % per track.
    out = cli("calibrate", *clips, "--false-alarm-rate", "0.05", "--max-frames", "40",
              "--model", str(shipped_model()), "--out", str(tmp_path / "t.yaml"))
    assert out.returncode == 4 and "at least 59 are needed" in out.stderr
    assert not (tmp_path / "t.yaml").exists()
