"""Per-stream bookkeeping of the scheduler: tracker, voters, counters, pending classifications."""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from engine.records import StreamSummary
from engine.sources.base import Source
from engine.track import Tracker, TrackerConfig
from engine.verdicts import ERROR, FAKE, NO_DECISION, REAL
from engine.vote import VoteConfig, Voter


@dataclass
class PendingFrame:
    """A frame whose face crops are still being classified.

    The stream voter gets one value per frame, the highest p_fake among the frame's faces (a
    frame is as suspicious as its most suspicious face), once all of its crops are back.
    """

    t: float
    remaining: int = 0
    max_p: float = -math.inf


@dataclass
class StreamState:
    """Everything the scheduler keeps for one stream."""

    index: int
    source: Source
    vote: VoteConfig
    tracker_config: TrackerConfig
    detect_every: int
    tracker: Tracker = field(init=False)
    stream_voter: Voter = field(init=False)
    track_voters: dict[int, Voter] = field(default_factory=dict)
    last_p: dict[int, float] = field(default_factory=dict)
    track_frames: dict[int, int] = field(default_factory=dict)
    pending_tracks: Counter = field(default_factory=Counter)
    pending_frames: OrderedDict = field(default_factory=OrderedDict)
    closing: set[int] = field(default_factory=set)
    frames_since_detect: int = 0
    need_detect: bool = True
    processed: int = 0
    dropped_pipeline: int = 0
    detections: int = 0
    detector_runs: int = 0
    tracks_created: int = 0
    classified: int = 0
    last_t: float = 0.0
    ended: bool = False

    def __post_init__(self) -> None:
        self.tracker = Tracker(self.tracker_config)
        self.stream_voter = Voter(self.vote, self.name, None)
        # The first frame of a stream is always searched for faces.
        self.frames_since_detect = self.detect_every

    @property
    def name(self) -> str:
        return self.source.name

    def track_voter(self, track: int) -> Voter:
        voter = self.track_voters.get(track)
        if voter is None:
            voter = self.track_voters[track] = Voter(self.vote, self.name, track)
        return voter

    def expect(self, track: int, frame_index: int, t: float) -> None:
        """A crop of ``track`` from frame ``frame_index`` went into the batcher."""
        self.pending_tracks[track] += 1
        pending = self.pending_frames.get(frame_index)
        if pending is None:
            pending = self.pending_frames[frame_index] = PendingFrame(t=t)
        pending.remaining += 1

    def resolve(self, track: int, frame_index: int, p: float) -> list[PendingFrame]:
        """Record one classified crop; returns the frames now complete, in frame order."""
        self.pending_tracks[track] -= 1
        pending = self.pending_frames[frame_index]
        pending.remaining -= 1
        pending.max_p = max(pending.max_p, p)
        done = []
        # Frames complete in order because the batcher is FIFO.
        while self.pending_frames:
            first_key = next(iter(self.pending_frames))
            if self.pending_frames[first_key].remaining > 0:
                break
            done.append(self.pending_frames.pop(first_key))
        return done

    def summary(self, run_error: bool = False) -> StreamSummary:
        """The stream's counters and verdict now (safe to call from another thread)."""
        stats = self.source.stats
        voter = self.stream_voter
        verdict = voter.verdict
        if verdict == FAKE:
            outcome = FAKE
        elif run_error or stats.state == "failed" or (self.processed == 0 and stats.errors):
            # A source that failed for good, or never delivered a frame and reported errors
            # (an unreachable camera), is an error, never "no decision".
            outcome = ERROR
        else:
            outcome = REAL if verdict == REAL else NO_DECISION
        return StreamSummary(
            stream=self.name,
            live=self.source.live,
            state=stats.state,
            read=stats.read,
            processed=self.processed,
            dropped=stats.dropped + self.dropped_pipeline,
            dropped_source=stats.dropped,
            dropped_pipeline=self.dropped_pipeline,
            detections=self.detections,
            detector_runs=self.detector_runs,
            tracks=self.tracks_created,
            classified=self.classified,
            verdict=verdict,
            p_fake=voter.score,
            frames=voter.frames,
            rule=self.vote.rule,
            reconnects=stats.reconnects,
            errors=stats.errors,
            last_error=stats.last_error,
            last_t=self.last_t,
            outcome=outcome,
        )
