"""`run_pipeline`: build a screening run and run it, in one call (tests, scripts, the soak)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from engine.classifier import Classifier
from engine.judge.records import RunSummary
from engine.pipeline.assemble import (
    ClassifierSpec,
    build_pipeline,
    open_sources,
    unique_names,
)
from engine.pipeline.config import PipelineConfig
from engine.pipeline.telemetry import PipelineMetrics
from engine.sinks.base import Sink
from engine.sources.base import Source

__all__ = ["open_sources", "run_pipeline", "unique_names"]


def run_pipeline(
    sources: Sequence[str | Source],
    config: PipelineConfig | None = None,
    *,
    backend=None,
    detector=None,
    feature=None,
    sinks: Sequence[Sink] = (),
    metrics: PipelineMetrics | None = None,
    stop_event: threading.Event | None = None,
    model: str | Path | None = None,
    backend_name: str = "auto",
    spectral_backend: str = "auto",
) -> RunSummary:
    """Screen ``sources`` until they end, ``stop_event`` is set, or a limit in ``config`` is hit.

    Args:
        sources: source specs (file, folder, webcam, URL) or opened :class:`Source` objects.
        config: pipeline options (defaults when None).
        backend: a loaded backend (paired with ``feature``, or with a fresh spectral feature),
            or a built :class:`~engine.classifier.Classifier`; None opens ``backend_name``.
        detector: a face detector; None builds ``MTCNNDetector(min_face=config.min_face)``.
        feature: the spectral feature for ``backend``.
        sinks: outputs (events, summaries, video, live view).
        metrics: Prometheus metrics to feed (serve them with :class:`engine.metrics.MetricsServer`).
        stop_event: set it to stop gracefully (final verdicts and summaries are still written).
        model, backend_name, spectral_backend: how to build what was not given.

    Returns:
        The :class:`RunSummary` (per-stream counters and verdicts, per-stage latency).

    Raises:
        UsageError, InputError, ModelError, BackendUnavailable: before any frame is read
        (bad option, unreadable source, missing model). Failures during the run do not
        raise: they end up in ``RunSummary.error``.
    """
    spec = ClassifierSpec(backend=backend_name, model=Path(model) if model else None,
                          spectral=spectral_backend)
    classifier = backend if isinstance(backend, Classifier) else spec
    if backend is not None and not isinstance(backend, Classifier):
        if feature is None:
            from engine.features.spectral import feature_for

            feature = feature_for(backend.contract.spectrum_bins,
                                  bool(getattr(backend, "uses_spectrum", True)), spectral_backend)
        classifier = Classifier(backend, feature)
    pipeline = build_pipeline(sources, config, classifier=classifier, detector=detector,
                              sinks=sinks, metrics=metrics, stop_event=stop_event)
    return pipeline.run()
