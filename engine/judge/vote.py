"""Voting: turn a sequence of per-frame fake probabilities into a verdict that does not flicker.

A :class:`Voter` keeps a sliding window of the most recent frame probabilities (of one face
track, or of one stream) and reduces it with one of three rules to a *score* compared with a
*decision threshold*:

``mean``
    score = mean p_fake over the window; decision threshold = the model's threshold ``thr``.
``majority``
    Durall et al.'s per-video vote: every frame votes fake when p_fake >= ``thr``; score = the
    share of fake votes; decision threshold = 0.5 (a strict majority of the window is fake).
``confident``
    The DFDC winner's "confident frames" rule (Seferbekov, 2020). Let ``n`` be the window
    length. If more than ``n / 2.5`` frames *and* at least ``CONFIDENT_MIN_COUNT`` (12) frames
    are confidently fake (p > ``CONFIDENT_HI`` = 0.8), score = the mean of those frames only;
    else if more than 90 % of the frames are confidently real (p < ``CONFIDENT_LO`` = 0.2),
    score = the mean of those; else score = the plain mean. Decision threshold = ``thr``. A few
    very confident fake frames thus outweigh many lukewarm ones, which suits manipulations
    that show only in some frames.

Windows are in seconds of media time. Each vote carries a *span*: the media time it stands for
(one frame period at full rate; the whole period between two classifications of a settled
track under the classification budget, :mod:`engine.budget`). Spans are counted in *frame
equivalents* of :data:`REFERENCE_FPS` (25 fps): ``window`` = 64 is 2.56 s, ``min_frames`` = 8
is 0.32 s and the confident rule's 12 frames are 0.48 s, whatever the camera's frame rate and
however often a track is classified. Means and shares are weighted by span, counts are sums of
spans, so a 25 fps stream classified on every frame (every span one frame equivalent) votes
exactly as a plain count of frames would.

Verdict states: ``uncertain`` until ``min_frames`` probabilities are in the window; then the
first decision is taken at the plain decision threshold (score >= threshold -> ``fake``).
After that, hysteresis keeps the verdict from flickering: a ``real`` verdict turns ``fake``
only when score >= threshold + ``hysteresis``, and a ``fake`` verdict turns ``real`` only when
score < threshold - ``hysteresis``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from engine.judge.records import VerdictEvent  # noqa: F401 - its home is engine.judge.records; re-exported
from engine.judge.verdicts import FAKE, REAL, UNCERTAIN  # the one vocabulary, re-exported

RULES = ("mean", "majority", "confident")

CONFIDENT_HI = 0.8
CONFIDENT_LO = 0.2
CONFIDENT_FAKE_SHARE = 1 / 2.5
CONFIDENT_MIN_COUNT = 12  # the winning entry's "more than 11" (it scored 32 frames a video)
CONFIDENT_REAL_SHARE = 0.9
# The frame rate that turns the frame-counted options (window, min_frames, the confident rule's
# count) into media time: the real-time rate every benchmark target is stated at.
REFERENCE_FPS = 25.0
# Float slack when span sums are compared with frame counts (spans come from timestamps).
_SPAN_EPS = 1e-6


@dataclass(frozen=True)
class VoteConfig:
    """Voting options shared by all track and stream voters.

    Attributes:
        rule: one of :data:`RULES`.
        threshold: the model's decision threshold on p_fake (calibrated on validation data).
        window: media time of the most recent probabilities kept, in frame equivalents of
            :data:`REFERENCE_FPS` (64 = 2.56 s; 0 = unbounded: the whole track or stream).
        min_frames: media time of evidence needed before any verdict other than
            ``uncertain``, in frame equivalents (8 = 0.32 s).
        hysteresis: half-width of the band around the decision threshold (see module doc).
    """

    rule: str = "confident"
    threshold: float = 0.5
    window: int = 64
    min_frames: int = 8
    hysteresis: float = 0.05

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown voting rule {self.rule!r}; choose one of {', '.join(RULES)}")
        if self.window < 0 or self.min_frames < 1:
            raise ValueError("window must be >= 0 and min_frames >= 1")
        if self.window and self.min_frames > self.window:
            raise ValueError(f"min_frames ({self.min_frames}) exceeds the window ({self.window})")
        if not 0.0 <= self.hysteresis < 0.5:
            raise ValueError("hysteresis must be in [0, 0.5)")


def rule_score(probs: np.ndarray, rule: str, threshold: float,
               weights: np.ndarray | None = None,
               spans: np.ndarray | None = None) -> tuple[float, float]:
    """Reduce frame probabilities with one rule.

    Args:
        probs: 1D array of p_fake, at least one value.
        rule: one of :data:`RULES`.
        threshold: the model's decision threshold.
        weights: optional per-value weights (crop quality): means become weighted means and
            the majority a weighted share; the confident rule's frame counts stay counts.
        spans: optional frame equivalents each value stands for (1 = one frame): every mean
            and share is weighted by them and the confident rule's counts become their sums.

    Returns:
        (score, decision_threshold): the verdict is fake when score >= decision_threshold.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.size == 0:
        raise ValueError("no probabilities to vote on")
    w = np.ones_like(p) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.sum() <= 0:
        w = np.ones_like(p)
    n_of = np.ones_like(p) if spans is None else np.asarray(spans, dtype=np.float64)
    w = w * n_of

    def mean(mask: np.ndarray | None = None) -> float:
        pp, ww = (p, w) if mask is None else (p[mask], w[mask])
        return float(np.average(pp, weights=ww)) if ww.sum() > 0 else float(pp.mean())

    if rule == "mean":
        return mean(), threshold
    if rule == "majority":
        return float(np.average(p >= threshold, weights=w)), 0.5
    if rule == "confident":
        n = n_of.sum()
        fake = p > CONFIDENT_HI
        n_fake = n_of[fake].sum()
        if n_fake > n * CONFIDENT_FAKE_SHARE and n_fake >= CONFIDENT_MIN_COUNT - _SPAN_EPS:
            return mean(fake), threshold
        real = p < CONFIDENT_LO
        if n_of[real].sum() > n * CONFIDENT_REAL_SHARE:
            return mean(real), threshold
        return mean(), threshold
    raise ValueError(f"unknown voting rule {rule!r}")


def decide(probs: Iterable[float], rule: str, threshold: float) -> str:
    """One-shot verdict over a whole sequence (no hysteresis, no minimum): ``fake``/``real``."""
    score, cut = rule_score(np.fromiter(probs, dtype=np.float64), rule, threshold)
    return FAKE if score >= cut else REAL


class Voter:
    """Sliding-window voter with hysteresis for one track or one stream."""

    def __init__(self, config: VoteConfig, stream: str, track: int | None = None) -> None:
        self.config = config
        self.stream = stream
        self.track = track
        self._window: deque[float] = deque()
        self._weights: deque[float] = deque()
        self._spans: deque[float] = deque()  # frame equivalents, see the module docstring
        self._span_sum = 0.0
        self.verdict = UNCERTAIN
        self.score = float("nan")
        self.cut = float("nan")  # the rule's decision threshold of the last score
        self.t = 0.0
        self.total = 0

    @property
    def frames(self) -> int:
        """Probabilities currently in the window."""
        return len(self._window)

    @property
    def seconds(self) -> float:
        """Media time the window's votes stand for."""
        return self._span_sum / REFERENCE_FPS

    def add(self, p_fake: float, t: float, weight: float = 1.0,
            span_s: float | None = None) -> VerdictEvent | None:
        """Add one frame probability.

        Args:
            p_fake: the classifier's probability that the face (or frame) is fake.
            t: media time of that frame in seconds.
            weight: how much the value counts (crop quality; 1 = plain vote).
            span_s: media time the value stands for (None = one frame of
                :data:`REFERENCE_FPS`, the frame-counting voter).

        Returns:
            An event when the verdict changed, else None.
        """
        cfg = self.config
        span = 1.0 if span_s is None else max(float(span_s), 0.0) * REFERENCE_FPS
        self._window.append(float(p_fake))
        self._weights.append(float(weight))
        self._spans.append(span)
        self._span_sum += span
        # The window keeps the most recent media time: the oldest votes leave once the spans
        # exceed it (always keeping the newest vote, whatever its span).
        while cfg.window and len(self._window) > 1 and self._span_sum > cfg.window + _SPAN_EPS:
            self._window.popleft()
            self._weights.popleft()
            self._span_sum -= self._spans.popleft()
        self._span_sum = math.fsum(self._spans)  # no drift over a day-long track
        self.total += 1
        self.t = t
        if self._span_sum < cfg.min_frames - _SPAN_EPS:
            return None
        weights = np.fromiter(self._weights, float)
        spans = np.fromiter(self._spans, float)
        self.score, cut = rule_score(np.fromiter(self._window, float), cfg.rule, cfg.threshold,
                                     None if np.all(weights == 1.0) else weights,
                                     None if np.all(spans == 1.0) else spans)
        self.cut = cut
        h = cfg.hysteresis
        previous = self.verdict
        if previous == UNCERTAIN:
            self.verdict = FAKE if self.score >= cut else REAL
        elif previous == REAL and self.score >= cut + h:
            self.verdict = FAKE
        elif previous == FAKE and self.score < cut - h:
            self.verdict = REAL
        return self.event() if self.verdict != previous else None

    @property
    def decisive(self) -> bool:
        """A verdict whose score lies outside the hysteresis band around the cut,
        ``[cut - h, cut + h)``: where the score can wander without the verdict being one
        small move from flipping (the classification budget settles only such tracks)."""
        h = self.config.hysteresis
        return self.verdict in (REAL, FAKE) and not self.cut - h <= self.score < self.cut + h

    @property
    def agreement(self) -> float:
        """Share of the window's media time whose p_fake lies on the verdict's side of the
        threshold (0 while there is no verdict)."""
        if self.verdict not in (REAL, FAKE) or not self._window:
            return 0.0
        p = np.fromiter(self._window, float)
        side = p >= self.config.threshold if self.verdict == FAKE else p < self.config.threshold
        spans = np.fromiter(self._spans, float)
        return float(spans[side].sum() / spans.sum()) if spans.sum() > 0 else 0.0

    def event(self, final: bool = False) -> VerdictEvent:
        """The current verdict as an event."""
        return VerdictEvent(
            stream=self.stream,
            track=self.track,
            t=self.t,
            verdict=self.verdict,
            p_fake=self.score,
            frames=len(self._window),
            rule=self.config.rule,
            final=final,
        )
