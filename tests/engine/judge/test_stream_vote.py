"""The stream verdict: only confirmed tracks vote; any-track, majority-of-tracks, frame-max."""

from __future__ import annotations

import json

import pytest

from engine.judge.stream_vote import StreamJudge
from engine.judge.vote import VoteConfig

VOTE = VoteConfig(rule="mean", threshold=0.5, window=0, min_frames=2, hysteresis=0.0)


def feed(judge: StreamJudge, track: int, probs, start: int = 0, quality: float = 1.0):
    events = []
    for i, p in enumerate(probs):
        judge.expect(start + i, (start + i) / 25)
        events += judge.crop(track, start + i, (start + i) / 25, p, quality)
    return events


@pytest.mark.parametrize("rule", ["any-track", "majority-of-tracks", "frame-max"])
def test_an_unconfirmed_track_never_votes(rule) -> None:
    judge = StreamJudge("s", VOTE, rule)
    judge.status(1, confirmed=False, hits=1, reject="low detector score")
    events = feed(judge, 1, [0.99, 0.99, 0.99])
    assert judge.verdict == "uncertain"
    track_events = [json.loads(e.to_json()) for e in events if e.track == 1]
    assert track_events and track_events[0]["confirmed"] is False  # reported all the same
    final = judge.finish()[-1]
    assert final.verdict == "uncertain"
    assert "no face track confirmed: low detector score (1)" in final.extra["reason"]


def test_any_track_is_fake_when_one_confirmed_face_is() -> None:
    judge = StreamJudge("s", VOTE, "any-track")
    for track in (1, 2, 3):
        judge.status(track, confirmed=True, hits=2)
    feed(judge, 1, [0.1, 0.1])
    feed(judge, 2, [0.2, 0.2])
    assert judge.verdict == "real"
    events = feed(judge, 3, [0.9, 0.9])
    assert judge.verdict == "fake" and judge.score == pytest.approx(0.9)
    stream_events = [e for e in events if e.track is None]
    assert stream_events[-1].extra["tracks_fake"] == 1


def test_majority_of_tracks_needs_more_than_half() -> None:
    judge = StreamJudge("s", VOTE, "majority-of-tracks")
    for track in (1, 2):
        judge.status(track, confirmed=True, hits=2)
    feed(judge, 1, [0.9, 0.9])
    feed(judge, 2, [0.1, 0.1])
    assert judge.verdict == "real" and judge.score == 0.5  # 1 of 2 is not a majority


def test_an_ended_fake_track_keeps_the_stream_fake() -> None:
    judge = StreamJudge("s", VOTE, "any-track")
    judge.status(1, confirmed=True, hits=2)
    feed(judge, 1, [0.9, 0.9])
    final = judge.end_track(1)
    assert final.final and final.verdict == "fake" and final.extra["hits"] == 2
    assert judge.verdict == "fake" and judge.counts() == (1, 1, 0)
    assert judge.track_summary().startswith("1:fake:0.900:1.00:2")


def test_gate_drops_poor_crops_and_weight_discounts_them() -> None:
    gated = StreamJudge("s", VOTE, "any-track", weighting="gate", gate=0.5)
    gated.status(1, confirmed=True, hits=2)
    feed(gated, 1, [0.9, 0.9], quality=0.1)
    feed(gated, 1, [0.2, 0.2], start=2, quality=0.9)
    assert gated.verdict == "real" and gated.score == pytest.approx(0.2)
    weighted = StreamJudge("s", VOTE, "any-track", weighting="weight")
    weighted.status(1, confirmed=True, hits=2)
    feed(weighted, 1, [0.9, 0.9], quality=0.1)
    feed(weighted, 1, [0.2, 0.2], start=2, quality=0.9)
    assert weighted.score == pytest.approx((0.9 * 0.1 + 0.2 * 0.9) / 1.0)


def test_frame_max_takes_the_most_suspicious_confirmed_face_only() -> None:
    judge = StreamJudge("s", VOTE, "frame-max")
    judge.status(1, confirmed=True, hits=2)
    judge.status(2, confirmed=False, hits=1)
    for f in range(3):
        judge.expect(f, f / 25)
        judge.expect(f, f / 25)
        judge.crop(2, f, f / 25, 0.99)  # the unconfirmed one is the more suspicious
        judge.crop(1, f, f / 25, 0.2)
    assert judge.verdict == "real" and judge.score == pytest.approx(0.2)
