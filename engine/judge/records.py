"""The output records of a run, at the bottom of the runtime beside :mod:`engine.judge.verdicts`.

A verdict event (:class:`VerdictEvent`), what an annotated frame shows (:class:`FrameView`,
:class:`TrackView`) and what a run reports (:class:`StreamSummary`, :class:`RunSummary`) are
produced by the pipeline and read by the sinks, the metrics, the CLI and the benchmark; they
live here so none of those needs to import another to name them.

Exit codes of `deepscreen screen` (see docs/STREAMING.md): 0 every stream real; 3 some stream
fake; 4 no decision (no face, no confirmed face track, faces below the vote floor, or still
uncertain at the end); 1
runtime error. Several streams give the worst outcome, in the order fake > error > no decision
> real: a failed stream can never pass as "real" or "no decision", and a fake found on another
stream is still reported.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from engine.judge.verdicts import NO_DECISION, OUTCOME_EXIT, OUTCOME_ORDER, UNCERTAIN
from engine.timing import StageStats


@dataclass(frozen=True)
class VerdictEvent:
    """A verdict change (or a final verdict) of one track or one stream.

    Attributes:
        stream: scrubbed stream name.
        track: track id within the stream; ``None`` for the stream-level verdict.
        t: media time of the last frame that contributed, seconds.
        verdict: ``uncertain``, ``real`` or ``fake``.
        p_fake: the rule's score (for ``majority``: the share of frames voting fake).
        frames: probabilities in the window when the verdict was taken.
        rule: voting rule name.
        final: True for the verdicts written when a track ends or the run stops.
        extra: more fields for the JSON line (a track's ``confirmed``, ``hits``, ``quality``;
            a stream's ``stream_rule``, track counts and no-decision ``reason``); None = none.
    """

    stream: str
    track: int | None
    t: float
    verdict: str
    p_fake: float
    frames: int
    rule: str
    final: bool = False
    extra: dict | None = None

    def to_json(self) -> str:
        """One JSON object on one line."""
        d = asdict(self)
        d.update(d.pop("extra") or {})
        d["p_fake"] = round(d["p_fake"], 4) if d["p_fake"] == d["p_fake"] else None
        d["t"] = round(d["t"], 3)
        return json.dumps(d, separators=(",", ":"))


@dataclass(frozen=True)
class TrackView:
    """What is known about one track when a frame is shown.

    Attributes:
        id: track id within its stream.
        box: current box (frame pixels).
        p_fake: the score that decided the track's verdict (the track voter's rule score;
            NaN before any verdict).
        verdict: the track's verdict so far.
        fresh: matched by the latest detector run.
        confirmed: the track is a confirmed face (only those vote).
    """

    id: int
    box: tuple[float, float, float, float]
    p_fake: float
    verdict: str
    fresh: bool = True
    confirmed: bool = True


@dataclass(frozen=True)
class FrameView:
    """One processed frame with the tracks drawn on it (for annotated video).

    Verdicts are the latest known when the frame is processed: the classifier works on
    batches, so a face's score shows up a few frames after the frame it came from.
    """

    stream: str
    stream_index: int
    index: int
    t: float
    image: np.ndarray = field(repr=False)
    tracks: tuple[TrackView, ...] = ()
    verdict: str = UNCERTAIN
    p_fake: float = float("nan")


@dataclass
class StreamSummary:
    """Counters and verdict of one stream.

    ``read == processed + dropped`` holds for every stream once the run has ended, where
    ``dropped = dropped_source + dropped_pipeline``.

    Attributes:
        stream: scrubbed stream name.
        live: live source (drops under load) or file/folder (lossless).
        state: the source's last state ("streaming", "finished", "failed", ...).
        read: frames the source decoded.
        processed: frames that went through detection/tracking.
        dropped: dropped_source + dropped_pipeline.
        dropped_source: frames the source discarded (slow consumer, or queued at stop).
        dropped_pipeline: frames the pipeline received but could not use (empty images).
        detections: faces found by the detector, summed over detector runs.
        detector_runs: frames on which the detector ran.
        tracks: face tracks started.
        classified: face crops classified.
        verdict: stream verdict: "uncertain", "real" or "fake".
        p_fake: the voting rule's score at the end (NaN when uncertain with no frames).
        frames: probabilities in the stream voter's window at the end.
        rule: voting rule.
        reconnects, errors, last_error: from the source.
        last_t: media time of the last processed frame, seconds.
        outcome: "real", "fake", "no_decision" or "error".
        stream_rule: how tracks make the stream verdict (see :mod:`engine.judge.stream_vote`).
        tracks_decided: confirmed tracks with a verdict; tracks_fake: of those, fake.
        tracks_unconfirmed: tracks that never got confirmed (reported, never voting).
        reason: why the outcome is "no_decision" ("" otherwise).
        track_verdicts: per track ``id:verdict:score:quality:hits[:unconfirmed]``.
        skipped_settled: crops not classified because their track was settled (the per-track
            budget, :mod:`engine.budget`).
        skipped_budget: crops not classified because the live streams' global budget was
            spent.
        vote_min_face: the stream's vote floor, native face pixels (:mod:`engine.judge.face_floor`).
        below_floor: crops of faces below it: classified and reported, not voted.
    """

    stream: str
    live: bool = False
    state: str = "connecting"
    read: int = 0
    processed: int = 0
    dropped: int = 0
    dropped_source: int = 0
    dropped_pipeline: int = 0
    detections: int = 0
    detector_runs: int = 0
    tracks: int = 0
    classified: int = 0
    verdict: str = UNCERTAIN
    p_fake: float = float("nan")
    frames: int = 0
    rule: str = ""
    reconnects: int = 0
    errors: int = 0
    last_error: str = ""
    last_t: float = 0.0
    outcome: str = NO_DECISION
    stream_rule: str = ""
    tracks_decided: int = 0
    tracks_fake: int = 0
    tracks_unconfirmed: int = 0
    reason: str = ""
    track_verdicts: str = ""
    skipped_settled: int = 0
    skipped_budget: int = 0
    vote_min_face: float = 0.0
    below_floor: int = 0

    @property
    def exit_code(self) -> int:
        return OUTCOME_EXIT[self.outcome]


@dataclass
class BatchStats:
    """Batch sizes seen by the classifier."""

    batches: int = 0
    crops: int = 0
    max_size: int = 0

    @property
    def mean_size(self) -> float:
        return self.crops / self.batches if self.batches else 0.0


@dataclass
class RunSummary:
    """Everything a run measured.

    Attributes:
        streams: one summary per source, in the order given.
        stages: latency per stage (see :mod:`engine.timing`).
        batches: classifier batch sizes.
        wall_s: wall time of the run.
        interrupted: the run was stopped by a signal or a stop request, not by its sources.
        error: a runtime error that ended the run ("" when none); forces exit code 1.
        lost_outputs: outputs given up during the run (a full disk under ``--events``, one
            line each); the screening went on, and the outcome is "error" unless a stream
            is fake (a lost file never hides a fake).
        backend: classifier backend name; spectral: spectral feature backend name.
    """

    streams: list[StreamSummary] = field(default_factory=list)
    stages: dict[str, StageStats] = field(default_factory=dict)
    batches: BatchStats = field(default_factory=BatchStats)
    wall_s: float = 0.0
    interrupted: bool = False
    error: str = ""
    backend: str = ""
    spectral: str = ""
    lost_outputs: list[str] = field(default_factory=list)

    @property
    def frames_processed(self) -> int:
        return sum(s.processed for s in self.streams)

    @property
    def fps(self) -> float:
        """Processed frames per second of wall time, all streams together."""
        return self.frames_processed / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def outcome(self) -> str:
        if self.error:
            return "error"
        outcomes = {s.outcome for s in self.streams}
        if self.lost_outputs:
            outcomes.add("error")
        if not outcomes:
            return "no_decision"
        return next(o for o in OUTCOME_ORDER if o in outcomes)

    @property
    def exit_code(self) -> int:
        """0 real, 3 fake, 4 no decision, 1 error (worst over streams; see module doc)."""
        return OUTCOME_EXIT[self.outcome]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["batches"]["mean_size"] = self.batches.mean_size
        d.update(outcome=self.outcome, exit_code=self.exit_code,
                 frames_processed=self.frames_processed, fps=self.fps)
        return d

    def to_json(self) -> str:
        def clean(v):
            if isinstance(v, float) and v != v:
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            return v

        return json.dumps(clean(self.to_dict()), indent=2)
