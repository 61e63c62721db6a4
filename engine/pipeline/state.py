"""Per-stream bookkeeping of the scheduler: tracker, confirmation, judge, counters, crops out."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from engine.budget import BudgetConfig, TrackBudget
from engine.judge.confirm import Confirmation, ConfirmConfig
from engine.judge.records import FrameView, StreamSummary, TrackView, VerdictEvent
from engine.judge.stream_vote import StreamJudge
from engine.judge.verdicts import ERROR, FAKE, NO_DECISION, REAL
from engine.judge.vote import REFERENCE_FPS, VoteConfig
from engine.sources.base import Source
from engine.track import Tracker, TrackerConfig
from engine.types import Frame

if TYPE_CHECKING:
    import numpy as np

    from engine.batching import CropItem
    from engine.pipeline.config import PipelineConfig


@dataclass
class StreamState:
    """Everything the scheduler keeps for one stream.

    The verdicts live in :attr:`judge` (track voters, confirmation facts, the stream rule);
    the pipeline's own counts (processed, detections, ...) in :attr:`counters`, the
    :class:`StreamSummary` they are reported in, counted in place: the record declares them
    once and :meth:`summary` adds what the source and the judge know. The rest is the crops
    still out at the classifier, per track.
    """

    index: int
    source: Source
    vote: VoteConfig
    tracker_config: TrackerConfig
    detect_every: int
    stream_rule: str = "any-track"
    confirm: ConfirmConfig = field(default_factory=ConfirmConfig)
    weighting: str = "none"
    quality_gate: float = 0.2
    budget_config: BudgetConfig = field(default_factory=BudgetConfig)
    classify_every: int = 1
    min_face: int = 40
    vote_min_face: float = 0.0
    tracker: Tracker = field(init=False)
    judge: StreamJudge = field(init=False)
    budget: TrackBudget = field(init=False)
    counters: StreamSummary = field(init=False)
    confirmations: dict[int, Confirmation] = field(default_factory=dict)
    last_p: dict[int, float] = field(default_factory=dict)
    track_frames: dict[int, int] = field(default_factory=dict)
    pending_tracks: Counter = field(default_factory=Counter)
    closing: set[int] = field(default_factory=set)
    frames_since_detect: int = 0
    need_detect: bool = True
    last_t: float = 0.0
    ended: bool = False
    frames_since_full: int = 1 << 30  # the first detection searches the whole frame
    period_s: float = 0.0
    _last_index: int = -1

    def frame_seen(self, index: int, t: float) -> None:
        """Track the stream's frame period from its timestamps (media time for files, so a
        file's spans never depend on the machine)."""
        if self._last_index >= 0 and index > self._last_index and t > self.last_t:
            self.period_s = (t - self.last_t) / (index - self._last_index)
        self._last_index = index
        self.last_t = t

    def __post_init__(self) -> None:
        self.tracker = Tracker(self.tracker_config)
        self.judge = StreamJudge(self.name, self.vote, self.stream_rule, self.weighting,
                                 self.quality_gate, self.vote_min_face)
        # The first frame of a stream is always searched for faces.
        self.frames_since_detect = self.detect_every
        self.budget = TrackBudget(self.budget_config, self.vote.threshold)
        self.counters = StreamSummary(self.name, live=self.source.live)
        # Until two timestamps are seen: the container's frame rate, else the reference rate.
        fps = float(getattr(self.source, "fps", 0.0) or 0.0)
        self.period_s = 1.0 / (fps if 0 < fps < 1000 else REFERENCE_FPS)

    @property
    def name(self) -> str:
        return self.source.name

    def detected(self, track) -> list:
        """A detection was matched to (or started) ``track``: update its confirmation."""
        conf = self.confirmations.get(track.id)
        if conf is None:
            conf = self.confirmations[track.id] = Confirmation()
        conf.add(self.confirm, track.box, track.score, track.landmarks)
        return self.judge.status(track.id, conf.confirmed, conf.hits,
                                 conf.why_not(self.confirm), self.last_t)

    def expect(self, track: int, frame_index: int, t: float) -> None:
        """A crop of ``track`` from frame ``frame_index`` went into the batcher."""
        self.pending_tracks[track] += 1
        self.judge.expect(frame_index, t)

    def judge_crop(self, item: CropItem, p: float) -> list[VerdictEvent]:
        """A classified crop to the judge, with its quality and face side (unmeasured: full
        weight, above any floor)."""
        q = item.quality
        return self.judge.crop(item.track, item.frame_index, item.t, p,
                               q.value if q is not None else 1.0, item.span,
                               q.side if q is not None else math.inf)

    def forget(self, track: int) -> None:
        """The track ended and its crops are all classified."""
        self.closing.discard(track)
        self.pending_tracks.pop(track, None)
        self.track_frames.pop(track, None)
        self.last_p.pop(track, None)
        self.confirmations.pop(track, None)
        self.budget.forget(track)

    def view(self, frame: Frame, image: np.ndarray) -> FrameView:
        """What the frame sinks (annotated video, live page) draw for this frame."""
        tracks = []
        for tr in self.tracker.tracks:
            ev = self.judge.tracks.get(tr.id)
            conf = self.confirmations.get(tr.id)
            tracks.append(TrackView(
                id=tr.id, box=tr.box, p_fake=ev.voter.score if ev else float("nan"),
                verdict=ev.voter.verdict if ev else "uncertain", fresh=tr.fresh,
                confirmed=bool(conf and conf.confirmed),
            ))
        return FrameView(
            stream=self.name, stream_index=self.index, index=frame.index, t=frame.t,
            image=image, tracks=tuple(tracks), verdict=self.judge.verdict,
            p_fake=self.judge.score,
        )

    def summary(self, run_error: bool = False) -> StreamSummary:
        """The stream's counters and verdict now (safe to call from another thread)."""
        stats = self.source.stats
        judge = self.judge
        counters = replace(self.counters)  # one snapshot: the scheduler thread counts on
        verdict = judge.verdict
        if verdict == FAKE:
            outcome = FAKE
        elif run_error or stats.state == "failed" or (counters.processed == 0 and stats.errors):
            # A source that failed for good, or never delivered a frame and reported errors
            # (an unreachable camera), is an error, never "no decision".
            outcome = ERROR
        else:
            outcome = REAL if verdict == REAL else NO_DECISION
        decided, fake, unconfirmed = judge.counts()
        reason = ""
        if outcome == NO_DECISION:
            reason = "no frame processed" if counters.processed == 0 else (
                "no face detected" if counters.tracks == 0 else judge.reason())
        return replace(
            counters, state=stats.state, read=stats.read,
            dropped=stats.dropped + counters.dropped_pipeline, dropped_source=stats.dropped,
            verdict=verdict, p_fake=judge.score, frames=judge.frames, rule=self.vote.rule,
            reconnects=stats.reconnects, errors=stats.errors, last_error=stats.last_error,
            last_t=self.last_t, outcome=outcome, stream_rule=self.stream_rule,
            tracks_decided=decided, tracks_fake=fake, tracks_unconfirmed=unconfirmed,
            reason=reason, track_verdicts=judge.track_summary(),
            skipped_settled=self.budget.skipped, vote_min_face=judge.min_face,
            below_floor=judge.below_floor,
        )


def stream_state(index: int, source: Source, cfg: PipelineConfig, threshold: float,
                 vote_min_face: float = 0.0) -> StreamState:
    """The state of one stream run with its own configuration (``PipelineConfig.for_stream``)
    and its resolved threshold and vote floor."""
    vote = VoteConfig(rule=cfg.rule, threshold=threshold, window=cfg.window,
                      min_frames=cfg.min_frames, hysteresis=cfg.hysteresis)
    return StreamState(index, source, vote, cfg.tracker, cfg.detect_every, cfg.stream_rule,
                       cfg.confirm, cfg.weighting, cfg.quality_gate, cfg.budget,
                       classify_every=cfg.classify_every, min_face=cfg.min_face,
                       vote_min_face=vote_min_face)
