"""Voting rules, hysteresis and the uncertain state, on synthetic probability sequences."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine.judge.vote import (
    CONFIDENT_MIN_COUNT,
    FAKE,
    REAL,
    UNCERTAIN,
    VoteConfig,
    Voter,
    decide,
    rule_score,
)


def feed(voter: Voter, probs) -> list:
    return [e for i, p in enumerate(probs) if (e := voter.add(p, i / 25.0)) is not None]


def test_mean_rule_is_the_mean() -> None:
    p = np.array([0.1, 0.2, 0.9, 0.4])
    score, cut = rule_score(p, "mean", 0.4)
    assert score == pytest.approx(0.4) and cut == 0.4


def test_majority_counts_frame_decisions_not_probabilities() -> None:
    # Mean 0.38 (real by the mean) but 3 of 5 frames are over the threshold.
    p = np.array([0.55, 0.6, 0.52, 0.1, 0.13])
    assert decide(p, "mean", 0.5) == REAL
    assert rule_score(p, "majority", 0.5) == (pytest.approx(0.6), 0.5)
    assert decide(p, "majority", 0.5) == FAKE


def test_confident_rule_averages_confident_fakes() -> None:
    # 14 confident fakes among 30 frames (> 30 / 2.5 = 12, >= 12): their mean decides,
    # although the plain mean is under the threshold.
    p = np.array([0.95] * 14 + [0.05] * 16)
    assert p.mean() < 0.5
    score, _ = rule_score(p, "confident", 0.5)
    assert score == pytest.approx(0.95)
    assert decide(p, "mean", 0.5) == REAL
    assert decide(p, "confident", 0.5) == FAKE


def test_confident_rule_needs_enough_confident_frames() -> None:
    # 11 confident fakes: fewer than CONFIDENT_MIN_COUNT, so the plain mean is used.
    assert CONFIDENT_MIN_COUNT == 12
    p = np.array([0.95] * 11 + [0.3] * 9)
    score, _ = rule_score(p, "confident", 0.5)
    assert score == pytest.approx(p.mean())


def test_confident_rule_confident_reals() -> None:
    p = np.array([0.05] * 19 + [0.9])  # 95 % confidently real: their mean, the outlier ignored
    score, _ = rule_score(p, "confident", 0.5)
    assert score == pytest.approx(0.05)


def test_uncertain_until_min_frames() -> None:
    voter = Voter(VoteConfig(rule="mean", min_frames=5, window=10), "s", 1)
    events = feed(voter, [0.9] * 4)
    assert events == [] and voter.verdict == UNCERTAIN and math.isnan(voter.score)
    events = feed(voter, [0.9])
    assert [e.verdict for e in events] == [FAKE]
    assert events[0].frames == 5 and events[0].track == 1


def test_hysteresis_prevents_flicker() -> None:
    cfg = VoteConfig(rule="mean", threshold=0.5, window=1, min_frames=1, hysteresis=0.1)
    # A score wobbling around the threshold: without hysteresis this flips 6 times.
    wobble = [0.45, 0.55, 0.45, 0.55, 0.45, 0.55, 0.45]
    voter = Voter(cfg, "s")
    events = feed(voter, wobble)
    assert [e.verdict for e in events] == [REAL]  # first decision at the plain threshold
    no_h = Voter(VoteConfig(rule="mean", window=1, min_frames=1, hysteresis=0.0), "s")
    assert len(feed(no_h, wobble)) == 7
    # Entering fake needs >= thr + h, leaving it needs < thr - h.
    events = feed(voter, [0.59, 0.6, 0.41, 0.39])
    assert [(e.verdict, e.p_fake) for e in events] == [(FAKE, 0.6), (REAL, 0.39)]


def test_sliding_window_forgets_old_frames() -> None:
    voter = Voter(VoteConfig(rule="mean", window=8, min_frames=4, hysteresis=0.05), "cam")
    events = feed(voter, [0.1] * 20 + [0.9] * 20)
    assert [e.verdict for e in events] == [REAL, FAKE]
    assert voter.frames == 8 and voter.total == 40
    assert voter.score == pytest.approx(0.9)


def test_unbounded_window_keeps_everything() -> None:
    voter = Voter(VoteConfig(rule="mean", window=0, min_frames=4), "f")
    feed(voter, [0.1] * 20 + [0.9] * 20)
    assert voter.frames == 40 and voter.score == pytest.approx(0.5)


def test_event_json_has_the_documented_fields() -> None:
    voter = Voter(VoteConfig(rule="majority", min_frames=2, window=4), "rtsp://cam/stream", 7)
    (event,) = feed(voter, [0.8, 0.9])
    d = json.loads(event.to_json())
    assert set(d) >= {"stream", "track", "t", "verdict", "p_fake", "frames", "rule"}
    assert d == {"stream": "rtsp://cam/stream", "track": 7, "t": 0.04, "verdict": "fake",
                 "p_fake": 1.0, "frames": 2, "rule": "majority", "final": False}
    final = json.loads(Voter(VoteConfig(), "x").event(final=True).to_json())
    assert final["verdict"] == UNCERTAIN and final["p_fake"] is None and final["final"] is True


@pytest.mark.parametrize(
    "kwargs",
    [dict(rule="vote"), dict(window=4, min_frames=5), dict(hysteresis=0.5), dict(min_frames=0)],
)
def test_bad_config_is_rejected(kwargs) -> None:
    with pytest.raises(ValueError):
        VoteConfig(**kwargs)
