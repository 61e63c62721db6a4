"""The classification budget: spend the classifier where it adds evidence.

Two layers, both consulted by the scheduler before a crop enters the batcher.

**Per track** (:class:`TrackBudget`, one per stream). A new or uncertain track is classified
at full rate (every frame, or every ``classify_every``-th). Once its voter has a verdict and
its last ``settle_crops`` crops all agree with it (each on the verdict's side of the
threshold and within ``margin`` of their mean) and so does its vote (the score outside the
hysteresis band, where a few crops could flip the verdict, and ``settle_agreement`` of the vote
window on the verdict's side), the track is *settled* and is classified at
``settled_hz`` of media time (frame timestamps, never wall time, so a file gives the same
result on any machine and 15 and 60 fps cameras behave alike). Every crop of a settled track
is still checked: one on the other side of the threshold, or whose p_fake moves more than
``margin`` from the settled mean, or a change of the track's verdict, or a vote that no longer
agrees, returns the track to full rate at once. That is how a swap switched on in the middle
of a settled track is caught: at most ``1 / settled_hz`` seconds pass before the next check,
then the track votes at full rate again. A face below the vote floor
(:mod:`engine.judge.face_floor`) is classified at the settled rate from its first frame: its
crops are reported but never voted, so full rate buys nothing; the frame it reaches the floor
it is at full rate. Each crop carries its *span* (the media time it stands for) into the voter,
whose windows are in seconds (:mod:`engine.judge.vote`), so fewer crops of a settled track
weigh as much as the frames they stand for.

Determinism: crops come back from the classifier in batches, at wall-clock-dependent times.
So that a file's classified frames never depend on when a batch happened to flush, a decision
for frame ``f`` uses only the crops of frames up to ``f - lag_frames``; when one of those is
still queued, the scheduler flushes the batcher first (:meth:`TrackBudget.blocked`). The lag
(8 frames, 0.32 s at 25 fps) is longer than a batch normally waits, so forced flushes are rare.

**Across live streams** (:class:`GlobalBudget`). A box affords some crops per second (given,
or measured from the classifier's own stage times). When the live cameras ask for more, each
gets a fair share (a token bucket at ``crops_per_s / streams``; what an idle camera leaves
unused spills into a pool any camera may draw from), and within a camera new and uncertain
tracks come before settled ones. Files are never throttled here (their results must not depend
on the machine's speed): a file is slowed by back-pressure instead.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field

from engine.judge.verdicts import FAKE, REAL, UNCERTAIN

# `deepscreen screen`'s default settled rate: on since every shared clip's verdict was measured
# identical with the budget on and off (28/28 clips, shipped v9, 2026-12-07:
# docs/BENCHMARKS_BUDGET.md, `deepscreen bench --budget-check`). 0 turns it off.
DEFAULT_SETTLED_HZ = 5.0

SETTLED = "settled"  # reason label of crops skipped because their track is settled
OVER_BUDGET = "budget"  # reason label of crops skipped by the global budget


@dataclass(frozen=True)
class BudgetConfig:
    """How the classifier is rationed.

    Attributes:
        settled_hz: classifications per second of media time of a settled track (0 = off:
            every track at full rate, the engine before the budget; default
            :data:`DEFAULT_SETTLED_HZ`, what `deepscreen screen` runs).
        margin: a settled track returns to full rate when a crop's p_fake moves more than
            this from the settled mean; the settling crops must lie within it too.
        settle_crops: consecutive agreeing crops (after the first verdict) that settle a track.
        settle_agreement: the share of the track's vote window (media time) that must lie on
            the verdict's side of the threshold for it to settle or stay settled: a track whose
            window is mixed (a swap that flickers) is uncertain whatever its last crops say.
        lag_frames: decisions use the crops of frames at least this many frames old (see the
            module docstring: it makes file results independent of batch timing).
        crops_per_s: crops per second the box affords across live streams (0 = no limit; a
            negative value = measured: ``auto_share`` of the classifier's measured rate).
        auto_share: the share of the measured classifier rate a measured budget grants (the
            rest of the box decodes and detects).
        burst_s: seconds of its share a camera may save up.
    """

    settled_hz: float = DEFAULT_SETTLED_HZ
    margin: float = 0.25
    settle_crops: int = 8
    settle_agreement: float = 0.9
    lag_frames: int = 8
    crops_per_s: float = 0.0
    auto_share: float = 0.6
    burst_s: float = 1.0

    def __post_init__(self) -> None:
        if self.settled_hz < 0 or not 0 < self.margin <= 1 or self.settle_crops < 1 \
                or not 0 <= self.settle_agreement <= 1 \
                or self.lag_frames < 0 or not 0 < self.auto_share <= 1 or self.burst_s <= 0:
            raise ValueError("budget: settled_hz >= 0, margin in (0, 1], settle_crops >= 1, "
                             "settle_agreement in [0, 1], lag_frames >= 0, auto_share in (0, 1] "
                             "and burst_s > 0 required")

    @property
    def per_track(self) -> bool:
        return self.settled_hz > 0


@dataclass
class _TrackRate:
    """One track's rate state."""

    settled: bool = False
    verdict: str = UNCERTAIN  # the verdict the track settled on
    ref: float = math.nan  # mean p_fake of the settling crops
    recent: deque = field(default_factory=deque)  # p_fake of the latest full-rate crops
    last_queued_t: float | None = None
    pending: deque = field(default_factory=deque)  # frame indices queued, not yet classified
    observed: deque = field(default_factory=deque)  # (frame, p, verdict) not yet applied


class TrackBudget:
    """Per-track classification rates of one stream (see the module docstring).

    Args:
        config: the budget options.
        threshold: the model's decision threshold (the side of a crop).
    """

    def __init__(self, config: BudgetConfig, threshold: float) -> None:
        self.config = config
        self.threshold = threshold
        self._tracks: dict[int, _TrackRate] = {}
        self.skipped = 0  # crops a full-rate engine would have classified, not classified here
        self.resets = 0  # settled tracks sent back to full rate
        self.settles = 0  # times a track settled

    def _rate(self, track: int) -> _TrackRate:
        rate = self._tracks.get(track)
        if rate is None:
            rate = self._tracks[track] = _TrackRate(recent=deque(maxlen=self.config.settle_crops))
        return rate

    def settled(self, track: int) -> bool:
        """Whether the track is classified at the settled rate now."""
        rate = self._tracks.get(track)
        return bool(rate and rate.settled)

    @property
    def settled_tracks(self) -> int:
        return sum(r.settled for r in self._tracks.values())

    def blocked(self, track: int, frame_index: int) -> bool:
        """True while a crop the decision for ``frame_index`` must see is still queued."""
        rate = self._tracks.get(track)
        return bool(self.config.per_track and rate and rate.pending
                    and rate.pending[0] <= frame_index - self.config.lag_frames)

    def decide(self, track: int, frame_index: int, t: float, full_rate_due: bool,
               full_span_s: float, votes: bool = True) -> float | None:
        """Whether to classify ``track`` on this frame: the crop's span in seconds, or None.

        Args:
            track: the track id (fresh this frame).
            frame_index, t: the frame.
            full_rate_due: a full-rate engine would classify the track on this frame.
            full_span_s: the span of a full-rate crop (frame period x classify_every).
            votes: False while the face is below the vote floor (engine.judge.face_floor):
                its crops are reported but never voted, so they add no evidence and it is
                classified at the settled rate; a face that grows past the floor is back at
                full rate on that frame.
        """
        if not self.config.per_track:
            return full_span_s if full_rate_due else None
        rate = self._rate(track)
        cut = frame_index - self.config.lag_frames
        while rate.observed and rate.observed[0][0] <= cut:
            self._apply(rate, *rate.observed.popleft()[1:])
        if not rate.settled and votes:
            return full_span_s if full_rate_due else None
        period = 1.0 / self.config.settled_hz
        last = rate.last_queued_t
        # Half a frame of slack: timestamps of a 25 fps file land on 0.2 s only up to rounding.
        if last is None or t - last >= period - full_span_s / 2:
            return period if last is None else min(max(t - last, full_span_s), period)
        if full_rate_due:
            self.skipped += 1
        return None

    def queued(self, track: int, frame_index: int, t: float) -> None:
        """A crop of ``track`` from this frame went to the classifier."""
        if not self.config.per_track:
            return
        rate = self._rate(track)
        rate.last_queued_t = t
        rate.pending.append(frame_index)

    def observe(self, track: int, frame_index: int, p: float, verdict: str,
                decisive: bool = True, agreement: float = 1.0) -> None:
        """A crop came back: its p_fake and the track's vote after it: the verdict, whether
        its score is outside the hysteresis band (:attr:`Voter.decisive`) and the share of its
        window on the verdict's side (:attr:`Voter.agreement`)."""
        rate = self._tracks.get(track)
        if rate is None or not self.config.per_track:
            return
        if rate.pending and rate.pending[0] == frame_index:
            rate.pending.popleft()
        steady = decisive and agreement >= self.config.settle_agreement
        rate.observed.append((frame_index, p, verdict, steady))

    def forget(self, track: int) -> None:
        self._tracks.pop(track, None)

    def _apply(self, rate: _TrackRate, p: float, verdict: str, steady: bool) -> None:
        side = FAKE if p >= self.threshold else REAL
        if rate.settled:
            if verdict != rate.verdict or side != rate.verdict or not steady \
                    or abs(p - rate.ref) > self.config.margin:
                rate.settled = False  # new evidence: back to full rate
                rate.recent.clear()
                self.resets += 1
            return
        if verdict not in (REAL, FAKE) or side != verdict or not steady:
            rate.recent.clear()  # the run of agreeing crops starts again
            return
        rate.recent.append(p)
        if len(rate.recent) == rate.recent.maxlen:
            ref = sum(rate.recent) / len(rate.recent)
            if all(abs(v - ref) <= self.config.margin for v in rate.recent):
                rate.settled, rate.verdict, rate.ref = True, verdict, ref
                self.settles += 1


class GlobalBudget:
    """Crops per second shared fairly between live streams (see the module docstring).

    Args:
        config: ``crops_per_s`` (> 0 given, < 0 measured), ``auto_share``, ``burst_s``.
    """

    def __init__(self, config: BudgetConfig) -> None:
        self.config = config
        self._measured_rate = 0.0  # crops per second of classifier time (EMA)
        self._tokens: dict[int, float] = {}
        self._spare = 0.0
        self._last: float | None = None
        self.skipped: Counter = Counter()

    @property
    def active(self) -> bool:
        return self.config.crops_per_s != 0

    @property
    def rate(self) -> float:
        """Crops per second granted now (inf: no limit, or nothing measured yet)."""
        if self.config.crops_per_s > 0:
            return self.config.crops_per_s
        if self.config.crops_per_s < 0 and self._measured_rate > 0:
            return self.config.auto_share * self._measured_rate
        return math.inf

    def measured(self, crops: int, seconds: float) -> None:
        """One batch: ``crops`` classified in ``seconds`` of spectral + preprocess + classify."""
        if crops <= 0 or seconds <= 0:
            return
        r = crops / seconds
        self._measured_rate = r if self._measured_rate == 0 else 0.9 * self._measured_rate + 0.1 * r

    def admit(self, stream: int, streams: list[int], now: float) -> bool:
        """Whether ``stream`` may queue one more crop at wall time ``now``.

        Args:
            stream: the asking stream's index.
            streams: indices of the live streams sharing the budget (the asker among them).
            now: a monotonic clock in seconds.
        """
        rate = self.rate
        if math.isinf(rate):
            return True
        share = rate / max(len(streams), 1)
        cap = max(share * self.config.burst_s, 1.0)
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        for s in streams:
            # A new stream starts with one token: its first face is classified at once.
            tokens = self._tokens.get(s, 1.0) + share * dt
            if tokens > cap:  # what a quiet camera does not use, the others may
                self._spare = min(self._spare + tokens - cap, cap * len(streams))
                tokens = cap
            self._tokens[s] = tokens
        if self._tokens.get(stream, 0.0) >= 1.0:
            self._tokens[stream] -= 1.0
            return True
        if self._spare >= 1.0:
            self._spare -= 1.0
            return True
        self.skipped[stream] += 1
        return False
