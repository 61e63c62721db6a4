"""A threshold per site: the decision threshold that keeps false alarms on known-real footage
under a budget, with a one-sided Clopper-Pearson upper confidence bound.

`deepscreen calibrate` screens real footage of one camera with the engine (the pipeline as
`screen` runs it) through :class:`ScoreCollector`, then :func:`fit_threshold` picks the
lowest threshold whose false-alarm rate is, with the stated confidence, at most the budget.

Units: a *track* (default) raises an alarm when its sliding-window vote turns fake, exactly
as the engine decides it (each track's crops are replayed through :class:`engine.judge.vote.Voter`
at candidate thresholds); a *face* is one classified crop, an alarm when its p_fake reaches the
threshold. Either way each unit has a critical score: the highest threshold at which it still
alarms, so that "alarms at t" is "critical >= t".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from engine.judge.stream_vote import StreamJudge
from engine.judge.verdicts import FAKE
from engine.judge.vote import VoteConfig, Voter
from engine.sinks.base import Sink

UNITS = ("track", "face")
STEP = 1e-4  # thresholds are written with 4 decimals
LOWEST, HIGHEST = STEP, 1.0 - STEP


class NotEnoughData(ValueError):
    """The footage holds too few units for the budget at this confidence."""


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed in log space (n may be large)."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    lp, lq, ln = math.log(p), math.log1p(-p), math.lgamma(n + 1)
    return min(1.0, math.fsum(
        math.exp(ln - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq)
        for i in range(k + 1)))


def clopper_pearson_upper(k: int, n: int, confidence: float = 0.95) -> float:
    """One-sided upper confidence bound of a rate seen as ``k`` in ``n``: the rate p at which
    seeing ``k`` or fewer has probability ``1 - confidence``."""
    if n <= 0:
        return 1.0
    if k >= n:
        return 1.0
    alpha = 1.0 - confidence
    if k == 0:
        return 1.0 - alpha ** (1.0 / n)
    lo, hi = k / n, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if binom_cdf(k, n, mid) > alpha else (lo, mid)
    return hi


def units_needed(rate: float, confidence: float = 0.95) -> int:
    """Fewest units that can support ``rate`` at all (with no false alarm among them)."""
    return math.ceil(math.log(1.0 - confidence) / math.log1p(-rate))


@dataclass(frozen=True)
class ThresholdFit:
    """The chosen threshold and what it rests on.

    Attributes:
        threshold: the lowest threshold (4 decimals) meeting the budget.
        units: how many tracks (or faces) the choice rests on; unit: "track" or "face".
        false_alarms: how many of them still alarm at ``threshold``.
        upper_bound: the one-sided Clopper-Pearson upper bound of the false-alarm rate.
        rate, confidence: the budget and the confidence asked for.
    """

    threshold: float
    units: int
    unit: str
    false_alarms: int
    upper_bound: float
    rate: float
    confidence: float

    def describe(self) -> str:
        return (f"threshold {self.threshold:.4f}: {self.false_alarms} false alarms in "
                f"{self.units} {self.unit}s; false-alarm rate <= {self.upper_bound:.4f} at "
                f"{self.confidence:.0%} confidence (Clopper-Pearson; budget {self.rate:g})")


def fit_threshold(critical: list[float], rate: float, confidence: float = 0.95,
                  unit: str = "track") -> ThresholdFit:
    """The lowest threshold whose false-alarm rate is at most ``rate`` with ``confidence``.

    Args:
        critical: per unit, the highest threshold at which it alarms (alarm iff t <= value).

    Raises:
        NotEnoughData: fewer units than :func:`units_needed`, or scores so high that no
            threshold below 1 meets the budget.
    """
    if not 0.0 < rate < 1.0 or not 0.5 <= confidence < 1.0:
        raise ValueError("rate in (0, 1) and confidence in [0.5, 1)")
    n = len(critical)
    need = units_needed(rate, confidence)
    if n < need:
        raise NotEnoughData(f"{n} {unit}s cannot show a false-alarm rate <= {rate:g} at "
                            f"{confidence:.0%} confidence: at least {need} are needed")
    ranked = sorted(critical, reverse=True)
    k = 0  # the most false alarms the budget allows among n
    while k + 1 < n and clopper_pearson_upper(k + 1, n, confidence) <= rate:
        k += 1
    # Above the (k+1)-th highest score, at most k units alarm.
    threshold = max(LOWEST, math.floor(ranked[k] / STEP + 1e-9) * STEP + STEP)
    if threshold > HIGHEST:
        raise NotEnoughData(f"real {unit}s score up to {ranked[k]:.4f}: no threshold below 1 "
                            f"keeps {k} or fewer of {n} alarming")
    threshold = round(threshold, 4)
    alarms = sum(c >= threshold for c in critical)
    return ThresholdFit(threshold, n, unit, alarms,
                        clopper_pearson_upper(alarms, n, confidence), rate, confidence)


@dataclass
class _Track:
    crops: list[tuple[float, float, float, float | None]] = field(default_factory=list)
    confirmed: bool = False


class ScoreCollector(Sink):
    """Collect every classified crop per (stream, track): p_fake, time, weight, span."""

    def __init__(self, judge: StreamJudge) -> None:
        self.judge = judge  # only for its weighting of crop quality and its vote floor
        self.tracks: dict[tuple[str, int], _Track] = {}

    def on_crop(self, stream: str, item, p_fake: float, confirmed: bool, hits: int) -> None:
        track = self.tracks.setdefault((stream, item.track), _Track())
        track.confirmed |= confirmed
        q = item.quality
        # The faces that would vote: quality weighting and the vote floor as the judge applies
        # them (a face below the floor never decides, so it must not set the threshold).
        weight = self.judge.weight(q.value if q is not None else 1.0,
                                   q.side if q is not None else math.inf)
        if weight is not None:
            track.crops.append((float(p_fake), float(item.t), weight, item.span))

    def face_scores(self) -> list[float]:
        """p_fake of every crop of a confirmed track (the faces that may vote)."""
        return [c[0] for tr in self.tracks.values() if tr.confirmed for c in tr.crops]

    def track_scores(self, vote: VoteConfig) -> list[float]:
        """Per confirmed track that reaches a decision, its critical threshold."""
        out = []
        for tr in self.tracks.values():
            if tr.confirmed and _alarms(tr.crops, vote, LOWEST) is not None:
                out.append(track_critical(tr.crops, vote))
        return out


def _alarms(crops, vote: VoteConfig, threshold: float) -> bool | None:
    """Whether the track's vote turns fake at ``threshold`` (None: it never decides)."""
    voter = Voter(VoteConfig(rule=vote.rule, threshold=threshold, window=vote.window,
                             min_frames=vote.min_frames, hysteresis=vote.hysteresis), "cal")
    decided = False
    for p, t, weight, span in crops:
        voter.add(p, t, weight, span)
        decided |= voter.verdict != "uncertain"
        if voter.verdict == FAKE:
            return True
    return False if decided else None


def track_critical(crops, vote: VoteConfig) -> float:
    """The highest threshold (to 1e-6) at which the track's vote turns fake (0: never)."""
    if not _alarms(crops, vote, LOWEST):
        return 0.0
    if _alarms(crops, vote, HIGHEST):
        return HIGHEST
    lo, hi = LOWEST, HIGHEST  # alarms at lo, not at hi
    while hi - lo > 1e-6:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _alarms(crops, vote, mid) else (lo, mid)
    return lo
