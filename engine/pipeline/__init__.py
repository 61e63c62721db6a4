"""The streaming pipeline: sources -> detect/track -> cross-stream batches -> vote -> sinks.

Entry points: :func:`build_pipeline` (one run, assembled from a config) and
:func:`run_pipeline` (returns a :class:`RunSummary` with per-stream counters,
verdicts and per-stage latency). :class:`Pipeline` is the scheduler behind it.
"""

from engine.judge.records import BatchStats, RunSummary, StreamSummary
from engine.judge.verdicts import EXIT_ERROR, EXIT_FAKE, EXIT_NO_DECISION, EXIT_REAL
from engine.pipeline.assemble import (
    ClassifierSpec,
    build_classifier,
    build_detector,
    build_pipeline,
    open_sources,
)
from engine.pipeline.config import ContractOptions, PipelineConfig
from engine.pipeline.runner import run_pipeline
from engine.pipeline.scheduler import Pipeline
from engine.pipeline.telemetry import PipelineMetrics
from engine.timing import StageStats, StageTimer

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAKE",
    "EXIT_NO_DECISION",
    "EXIT_REAL",
    "BatchStats",
    "ClassifierSpec",
    "ContractOptions",
    "Pipeline",
    "PipelineConfig",
    "PipelineMetrics",
    "RunSummary",
    "StageStats",
    "StageTimer",
    "StreamSummary",
    "build_classifier",
    "build_detector",
    "build_pipeline",
    "open_sources",
    "run_pipeline",
]
