"""Options of the streaming pipeline, in one dataclass shared by `screen`, `bench` and tests."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from engine.budget import BudgetConfig
from engine.errors import UsageError
from engine.judge.confirm import ConfirmConfig
from engine.judge.face_floor import vote_floor
from engine.judge.stream_vote import STREAM_RULES, WEIGHTINGS
from engine.judge.vote import RULES
from engine.preprocess import InputContract
from engine.track import TrackerConfig

# Frames between full-frame face detections (25 fps media: 0.8 s). The detections in between
# re-find the tracked faces from candidate boxes around them (R- and O-Net only), a quarter of
# the full pyramid's cost at 640x480 and a tenth at 1080p (docs/BENCHMARKS_BUDGET.md); a face
# that enters the frame waits at most this long to be found.
DEFAULT_FULL_DETECT_EVERY = 20


@dataclass(frozen=True)
class ContractOptions:
    """The options that default to the model's own values, after resolution.

    Attributes:
        margin: relative crop margin around the detector box.
        threshold: decision threshold on p_fake.
        vote_min_face: the vote floor, native face pixels (:mod:`engine.judge.face_floor`).
    """

    margin: float
    threshold: float
    vote_min_face: float = 0.0


@dataclass(frozen=True)
class StreamOverrides:
    """What one stream may set differently from the run (None = the run's value).

    A camera in a bright lobby and one in a dim corridor need their own threshold, detection
    rate or face size; batching, voting windows and limits stay process-wide because the
    classifier and its batches are shared by every stream.
    """

    threshold: float | None = None
    detect_every: int | None = None
    classify_every: int | None = None
    min_face: int | None = None
    stream_rule: str | None = None
    vote_min_face: float | None = None

    def changes(self) -> dict:
        """The fields set, as keyword arguments of :class:`PipelineConfig`."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}


@dataclass
class PipelineConfig:
    """How the scheduler detects, tracks, batches and votes.

    Attributes:
        detect_every: run the face detector on every k-th processed frame of a stream (also
            on a stream's first frame and right after a track missed a detection).
        classify_every: classify each tracked face on every m-th frame of its track.
        full_detect_every: frames between full-frame detections; the detections in between
            find the tracked faces again from candidate boxes around them (MTCNN's R- and
            O-Net, no pyramid; :mod:`engine.detect.regions`; 0 = every detection searches the
            whole frame). New faces wait for the next full one.
        min_face: smallest face side in pixels the detector looks for.
        margin: relative margin around the face box for the crop; None = the model's own
            (from its input contract), which is what the classifier was trained with.
        max_batch: most crops per classifier call (across all streams).
        max_wait_ms: longest a crop waits for its batch to fill before the batch is flushed.
        rule, window, min_frames, hysteresis: voting (see :mod:`engine.judge.vote`); window and
            min_frames are media time in frames of 25 fps (64 = 2.56 s, 8 = 0.32 s).
        budget: the classification budget (per-track rates, global crops/s; see
            :mod:`engine.budget`).
        threshold: decision threshold on p_fake; None = the model's calibrated threshold.
        tracker: tracker options.
        stream_rule: how confirmed tracks make the stream verdict: ``any-track``,
            ``majority-of-tracks`` or ``frame-max`` (see :mod:`engine.judge.stream_vote`).
        confirm: when a track is a face that may vote (see :mod:`engine.judge.confirm`).
        weighting: how crop quality counts in the votes: ``none``, ``weight`` or ``gate``
            (see :mod:`engine.judge.quality`); quality_gate: the gate's smallest quality.
        vote_min_face: faces with a smaller side (native pixels) are classified and reported
            but do not vote; None = the model's own floor (its metadata, else the default of
            :mod:`engine.judge.face_floor`).
        max_frames: stop each stream after this many processed frames (0 = no limit).
        duration_s: stop the whole run after this many seconds of wall time (0 = no limit).
        min_crop: crops smaller than this side (pixels) are not classified.
        tick_s: period of live-view / metrics refreshes.
        trim_every_s: hand free C-heap pages back to the kernel this often (glibc
            ``malloc_trim``; 0 = never). Without it the RSS of a long run creeps up with heap
            fragmentation from the frame churn (see :mod:`engine.memory`).
        mmap_threshold_kb: when the run starts, make glibc map allocations of at least this
            many KiB (decoded frames) on their own instead of growing its arenas, so they go back
            to the kernel on free (0 = leave glibc's dynamic threshold; an explicit
            ``MALLOC_MMAP_THRESHOLD_`` in the environment always wins). Process-wide.
        streams: per-stream overrides, by stream (source) name; see :meth:`for_stream`.
    """

    detect_every: int = 5
    classify_every: int = 1
    full_detect_every: int = DEFAULT_FULL_DETECT_EVERY
    min_face: int = 40
    margin: float | None = None
    max_batch: int = 16
    max_wait_ms: float = 50.0
    rule: str = "confident"
    window: int = 64
    min_frames: int = 8
    hysteresis: float = 0.05
    threshold: float | None = None
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    stream_rule: str = "any-track"
    confirm: ConfirmConfig = field(default_factory=ConfirmConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    weighting: str = "none"
    quality_gate: float = 0.2
    vote_min_face: float | None = None
    max_frames: int = 0
    duration_s: float = 0.0
    min_crop: int = 16
    tick_s: float = 0.25
    trim_every_s: float = 5.0
    mmap_threshold_kb: int = 512
    streams: dict[str, StreamOverrides] = field(default_factory=dict)

    def validate(self) -> PipelineConfig:
        """Raise :class:`UsageError` for impossible values; returns self."""
        checks = [
            (self.detect_every >= 1, "detect_every must be >= 1"),
            (self.classify_every >= 1, "classify_every must be >= 1"),
            (self.full_detect_every >= 0, "full_detect_every must be >= 0 (0 = off)"),
            (self.min_face >= 12, "min_face must be >= 12 pixels (MTCNN's smallest window)"),
            (self.margin is None or 0.0 <= self.margin <= 2.0, "margin must be in [0, 2]"),
            (self.max_batch >= 1, "max_batch must be >= 1"),
            (self.max_wait_ms >= 0, "max_wait_ms must be >= 0"),
            (self.rule in RULES, f"rule must be one of {', '.join(RULES)}"),
            (self.stream_rule in STREAM_RULES,
             f"stream rule must be one of {', '.join(STREAM_RULES)}"),
            (self.weighting in WEIGHTINGS, f"weighting must be one of {', '.join(WEIGHTINGS)}"),
            (0.0 <= self.quality_gate <= 1.0, "quality gate must be in [0, 1]"),
            (self.vote_min_face is None or self.vote_min_face >= 0,
             "vote_min_face must be >= 0 pixels (0 = every face votes)"),
            (self.window >= 0, "window must be >= 0 (0 = unbounded)"),
            (self.min_frames >= 1, "min_frames must be >= 1"),
            (self.window == 0 or self.min_frames <= self.window, "min_frames exceeds window"),
            (0.0 <= self.hysteresis < 0.5, "hysteresis must be in [0, 0.5)"),
            (self.threshold is None or 0.0 < self.threshold < 1.0, "threshold must be in (0, 1)"),
            (self.max_frames >= 0 and self.duration_s >= 0, "limits must be >= 0"),
            (self.trim_every_s >= 0, "trim_every_s must be >= 0 (0 = never)"),
            (self.mmap_threshold_kb >= 0, "mmap_threshold_kb must be >= 0 (0 = glibc's default)"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        for name in self.streams:
            try:
                self.for_stream(name)
            except UsageError as exc:
                raise UsageError(f"stream {name}: {exc}") from None
        return self

    def for_stream(self, name: str) -> PipelineConfig:
        """The configuration one stream runs with: this one, with the stream's overrides.

        The scheduler asks this once per stream; values no stream overrides come from here.
        """
        overrides = self.streams.get(name)
        if overrides is None or not overrides.changes():
            return self
        return replace(self, streams={}, **overrides.changes()).validate()

    def resolve(self, contract: InputContract, traits: object = None) -> ContractOptions:
        """The one place where "this option, else the model's contract" is decided.

        ``traits``: the model's :class:`~engine.backends.model_traits.ModelTraits` (its vote
        floor; None or a model without one: the default floor).
        """
        return ContractOptions(
            margin=contract.margin if self.margin is None else self.margin,
            threshold=contract.threshold if self.threshold is None else self.threshold,
            vote_min_face=vote_floor(self.vote_min_face, getattr(traits, "min_face_px", None)),
        )
