"""From a checked config file to what the engine runs: the pipeline configuration with its
per-stream overrides, the classifier to open, and each stream's source options."""

from __future__ import annotations

from engine.budget import BudgetConfig
from engine.config.schema import ScreenFile
from engine.judge.confirm import ConfirmConfig
from engine.pipeline.assemble import ClassifierSpec
from engine.pipeline.config import PipelineConfig, StreamOverrides

# The per-stream keys the scheduler applies (the others are source options or outputs).
_PIPELINE_KEYS = tuple(f for f in StreamOverrides.__dataclass_fields__)


def pipeline_config(screen: ScreenFile) -> PipelineConfig:
    """The run's :class:`PipelineConfig`: the ``pipeline`` section, the ``defaults``, and one
    :class:`StreamOverrides` per stream that sets any of the scheduler's per-stream keys."""
    p, d = screen.pipeline, screen.defaults
    streams = {}
    for name, stream in screen.streams.items():
        own = {k: getattr(stream, k) for k in _PIPELINE_KEYS if getattr(stream, k) is not None}
        if own:
            streams[name] = StreamOverrides(**own)
    return PipelineConfig(
        detect_every=d.detect_every, classify_every=d.classify_every, min_face=d.min_face,
        margin=p.margin, max_batch=p.max_batch, max_wait_ms=p.max_wait_ms, rule=p.rule,
        window=p.window, min_frames=p.min_frames, hysteresis=p.hysteresis,
        threshold=d.threshold, max_frames=p.max_frames, duration_s=p.duration,
        stream_rule=d.stream_rule, weighting=p.weighting, quality_gate=p.quality_gate,
        vote_min_face=d.vote_min_face,
        confirm=ConfirmConfig(min_hits=p.confirm_hits, min_score=p.confirm_score,
                              min_side=p.confirm_min_side, landmarks=p.confirm_landmarks),
        budget=BudgetConfig(settled_hz=p.settled_hz, margin=p.budget_margin,
                            crops_per_s=-1.0 if p.crops_per_s == "auto" else p.crops_per_s),
        full_detect_every=p.full_detect_every, streams=streams,
    )


def classifier_spec(screen: ScreenFile) -> ClassifierSpec:
    """The classifier of the ``model`` section."""
    m = screen.model
    return ClassifierSpec(backend=m.backend, model=m.path, url=m.url,
                          remote_model=m.remote_model, spectral=m.spectral)


def source_options(screen: ScreenFile, name: str | None = None) -> dict:
    """Options for opening a stream's source (``name`` None: the defaults, for sources given
    on the command line)."""
    s = screen.effective(name) if name is not None else screen.defaults
    return {"realtime": s.realtime or None, "loop": s.loop or None,
            "give_up_after": s.give_up_after or None}
