"""The streaming pipeline: sources -> detect/track -> cross-stream batches -> vote -> sinks.

Entry point: :func:`run_pipeline` (returns a :class:`RunSummary` with per-stream counters,
verdicts and per-stage latency). :class:`Pipeline` is the scheduler behind it.
"""

from engine.pipeline.config import PipelineConfig
from engine.pipeline.runner import open_sources, run_pipeline
from engine.pipeline.scheduler import Pipeline
from engine.pipeline.summary import (
    EXIT_ERROR,
    EXIT_FAKE,
    EXIT_NO_DECISION,
    EXIT_REAL,
    BatchStats,
    RunSummary,
    StreamSummary,
)
from engine.pipeline.telemetry import PipelineMetrics
from engine.pipeline.timing import StageStats, StageTimer

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAKE",
    "EXIT_NO_DECISION",
    "EXIT_REAL",
    "BatchStats",
    "Pipeline",
    "PipelineConfig",
    "PipelineMetrics",
    "RunSummary",
    "StageStats",
    "StageTimer",
    "StreamSummary",
    "open_sources",
    "run_pipeline",
]
