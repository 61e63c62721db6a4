"""The classification budget's rules (engine/budget.py), fed crop by crop.

These drive :class:`TrackBudget` and :class:`GlobalBudget` with explicit frame indices,
timestamps and clock values: the rules are pure bookkeeping, so every case is exact. The
budget inside the engine, on real clips, is tested in test_budget_pipeline.py.
"""

from __future__ import annotations

import pytest

from engine.budget import BudgetConfig, GlobalBudget, TrackBudget
from engine.judge.verdicts import FAKE, REAL, UNCERTAIN
from engine.judge.vote import VoteConfig, Voter
from engine.pipeline import PipelineConfig

FPS = 25.0
FRAME = 1.0 / FPS


def drive(budget: TrackBudget, p_of, frames: int, verdict_of=lambda i: FAKE,
          track: int = 1) -> list[int]:
    """Frames 0..frames-1 of one always-fresh track; every queued crop comes back at once with
    ``p_of(frame)``. Returns the frames classified."""
    classified = []
    for i in range(frames):
        t = i * FRAME
        span = budget.decide(track, i, t, True, FRAME)
        if span is None:
            continue
        budget.queued(track, i, t)
        classified.append(i)
        budget.observe(track, i, p_of(i), verdict_of(i))
    return classified


def test_off_classifies_every_frame() -> None:
    budget = TrackBudget(BudgetConfig(settled_hz=0.0), threshold=0.5)
    assert drive(budget, lambda i: 0.95, 100) == list(range(100))
    assert budget.skipped == 0


def test_settled_track_is_classified_at_the_settled_rate_of_media_time() -> None:
    cfg = BudgetConfig(settled_hz=5.0, settle_crops=8, lag_frames=8)
    budget = TrackBudget(cfg, threshold=0.5)
    frames = drive(budget, lambda i: 0.95, 200)
    # Full rate until 8 agreeing crops (frames 0-7) are in and the lag (8 frames) has passed:
    # the decision for frame 15 sees crop 7 and settles; the next check is 0.2 s after frame 14.
    assert frames[:15] == list(range(15))
    assert frames[15] == 19
    settled = frames[15:]
    assert budget.settled(1) and budget.settles == 1
    # 5 Hz at 25 fps: every 5th frame.
    assert all(b - a == 5 for a, b in zip(settled, settled[1:], strict=False))
    assert budget.skipped == 200 - len(frames)
    # The same clip at 50 fps is classified at the same rate per second, not per frame.
    budget50 = TrackBudget(cfg, threshold=0.5)
    classified = []
    for i in range(400):
        span = budget50.decide(1, i, i / 50.0, True, 1 / 50.0)
        if span is not None:
            budget50.queued(1, i, i / 50.0)
            classified.append(i)
            budget50.observe(1, i, 0.95, FAKE)
    late = [i for i in classified if i >= 100]
    assert all(b - a == 10 for a, b in zip(late, late[1:], strict=False))


def test_span_is_the_media_time_a_crop_stands_for() -> None:
    budget = TrackBudget(BudgetConfig(settled_hz=5.0), threshold=0.5)
    spans = []
    for i in range(60):
        span = budget.decide(1, i, i * FRAME, True, FRAME)
        if span is not None:
            spans.append(span)
            budget.queued(1, i, i * FRAME)
            budget.observe(1, i, 0.9, FAKE)
    assert spans[0] == pytest.approx(FRAME)
    assert spans[-1] == pytest.approx(0.2)


def test_no_settling_before_a_verdict_keeps_time_to_first_verdict() -> None:
    budget = TrackBudget(BudgetConfig(settled_hz=5.0), threshold=0.5)
    frames = drive(budget, lambda i: 0.95, 100, verdict_of=lambda i: UNCERTAIN)
    assert frames == list(range(100))


def test_a_disagreeing_crop_returns_a_settled_track_to_full_rate() -> None:
    """A real track settles; the swap switches on at frame 100: the first crop of the swap the
    budget sees sends the track back to every frame."""
    budget = TrackBudget(BudgetConfig(settled_hz=5.0, lag_frames=8), threshold=0.5)
    frames = drive(budget, lambda i: 0.1 if i < 100 else 0.9, 200,
                   verdict_of=lambda i: REAL)
    before = [i for i in frames if 60 <= i < 100]
    assert len(before) <= 8  # settled: every 5th frame
    first_fake = next(i for i in frames if i >= 100)
    assert first_fake - 100 < 5  # checked within one settled period (0.2 s)
    # Back at full rate lag_frames after that crop (the decision lag), every frame since.
    tail = [i for i in frames if i >= first_fake + 8 + 1]
    assert tail == list(range(first_fake + 9, 200))
    assert not budget.settled(1)
    assert budget.resets >= 1


def test_a_moved_score_resets_even_on_the_same_side() -> None:
    budget = TrackBudget(BudgetConfig(settled_hz=5.0, margin=0.2), threshold=0.5)
    drive(budget, lambda i: 0.05 if i < 80 else 0.4, 120, verdict_of=lambda i: REAL)
    assert budget.resets >= 1


def test_decisions_wait_for_crops_older_than_the_lag() -> None:
    """blocked() says when the scheduler must flush: a crop lag_frames old is still out."""
    budget = TrackBudget(BudgetConfig(settled_hz=5.0, lag_frames=4), threshold=0.5)
    budget.decide(1, 0, 0.0, True, FRAME)
    budget.queued(1, 0, 0.0)
    assert not budget.blocked(1, 3)
    assert budget.blocked(1, 4)
    budget.observe(1, 0, 0.9, FAKE)
    assert not budget.blocked(1, 4)


def test_voter_weighs_a_settled_crop_as_the_frames_it_stands_for() -> None:
    """Twelve crops of 0.2 s each fill the same 2.56 s window as 64 frames of 25 fps, and the
    confident rule counts them in frame equivalents."""
    cfg = VoteConfig(rule="confident", threshold=0.5, window=64, min_frames=8)
    full, sparse = Voter(cfg, "s", 1), Voter(cfg, "s", 1)
    for i in range(200):
        full.add(0.9, i * FRAME, span_s=FRAME)
    for i in range(0, 200, 5):
        sparse.add(0.9, i * FRAME, span_s=0.2)
    assert full.verdict == sparse.verdict == FAKE
    assert full.seconds == pytest.approx(2.56)
    assert 2.4 <= sparse.seconds <= 2.56 + 1e-9
    assert full.frames == 64 and sparse.frames == 12
    # Three 0.2 s crops are 15 frame equivalents: past the 8 needed for a verdict.
    v = Voter(cfg, "s", 1)
    v.add(0.9, 0.0, span_s=0.2)
    assert v.verdict == UNCERTAIN
    v.add(0.9, 0.2, span_s=0.2)
    assert v.verdict == FAKE


def test_voter_says_whether_its_vote_is_decisive_and_how_much_of_it_agrees() -> None:
    cfg = VoteConfig(rule="mean", threshold=0.5, window=10, min_frames=2, hysteresis=0.05)
    v = Voter(cfg, "s", 1)
    v.add(0.1, 0.0)
    assert not v.decisive and v.agreement == 0.0  # no verdict yet
    v.add(0.1, 0.04)
    assert v.verdict == REAL and v.decisive and v.agreement == 1.0
    for i in range(2, 6):  # mean (0.2 + 4 * 0.6) / 6 = 0.43: still real, outside the band
        v.add(0.6, i * FRAME)
    assert v.verdict == REAL and v.decisive and v.agreement == pytest.approx(2 / 6)
    v.add(0.9, 0.3)  # mean 0.53: real (hysteresis) but one small move from fake
    assert v.verdict == REAL and not v.decisive


def test_a_track_whose_vote_is_not_steady_never_settles() -> None:
    """Its last crops may all agree, but a score in the hysteresis band or a mixed window
    (a flickering swap) keeps it at full rate; a settled track whose window turns mixed
    goes back to full rate."""
    cfg = BudgetConfig(settled_hz=5.0)
    for steady in ((False, 1.0), (True, 0.5)):
        budget = TrackBudget(cfg, threshold=0.5)
        frames = []
        for i in range(100):
            if budget.decide(1, i, i * FRAME, True, FRAME) is None:
                continue
            budget.queued(1, i, i * FRAME)
            frames.append(i)
            budget.observe(1, i, 0.9, FAKE, *steady)
        assert frames == list(range(100)) and budget.settles == 0
    budget = TrackBudget(cfg, threshold=0.5)
    for i in range(100):
        if budget.decide(1, i, i * FRAME, True, FRAME) is None:
            continue
        budget.queued(1, i, i * FRAME)
        budget.observe(1, i, 0.9, FAKE, True, 1.0 if i < 40 else 0.6)
    assert budget.settles == 1 and budget.resets >= 1 and not budget.settled(1)


def test_global_budget_shares_fairly_and_lends_what_a_quiet_camera_leaves() -> None:
    budget = GlobalBudget(BudgetConfig(crops_per_s=20.0, burst_s=0.5))
    streams = [0, 1]
    got = {0: 0, 1: 0}
    for step in range(1, 401):  # 4 s at 100 asks per second per camera
        now = step * 0.01
        for s in streams:
            got[s] += budget.admit(s, streams, now)
    assert got[0] == pytest.approx(40, abs=3) and got[1] == pytest.approx(40, abs=3)
    assert budget.skipped[0] > 300
    # Camera 1 has no face: camera 0 may use what it leaves.
    quiet = GlobalBudget(BudgetConfig(crops_per_s=20.0, burst_s=0.5))
    alone = sum(quiet.admit(0, streams, step * 0.01) for step in range(1, 401))
    assert alone > 60


def test_global_budget_measured_from_the_classifier() -> None:
    budget = GlobalBudget(BudgetConfig(crops_per_s=-1, auto_share=0.5))
    assert budget.rate == float("inf")  # nothing measured yet: no limit
    budget.measured(10, 0.1)  # 100 crops/s
    assert budget.rate == pytest.approx(50.0)


@pytest.mark.parametrize("field", [dict(settled_hz=-1), dict(margin=0), dict(settle_crops=0),
                                   dict(settle_agreement=1.5)])
def test_bad_budget_options_are_refused(field) -> None:
    with pytest.raises(ValueError):
        BudgetConfig(**field)


def test_pipeline_config_carries_the_budget() -> None:
    assert PipelineConfig(budget=BudgetConfig(settled_hz=4.0)).budget.settled_hz == 4.0


def test_a_face_below_the_vote_floor_is_classified_at_the_settled_rate() -> None:
    """Its crops never vote (engine.judge.face_floor), so full rate buys nothing: 5 Hz from its
    first frame, unsettled as it is; the frame it reaches the floor it is at full rate."""
    budget = TrackBudget(BudgetConfig(settled_hz=5.0), threshold=0.5)
    classified = []
    for i in range(100):
        votes = i >= 60  # the face grows past the floor at frame 60
        span = budget.decide(1, i, i * FRAME, True, FRAME, votes)
        if span is None:
            continue
        budget.queued(1, i, i * FRAME)
        classified.append(i)
        budget.observe(1, i, 0.4 if i % 2 else 0.6, UNCERTAIN)  # never settles
    small = [i for i in classified if i < 60]
    assert small[0] == 0 and all(b - a == 5 for a, b in zip(small, small[1:], strict=False))
    assert [i for i in classified if i >= 60] == list(range(60, 100))
    assert not budget.settled(1)
    # With the budget off, the floor changes nothing: every frame.
    off = TrackBudget(BudgetConfig(settled_hz=0.0), threshold=0.5)
    assert all(off.decide(1, i, i * FRAME, True, FRAME, False) == FRAME for i in range(20))
