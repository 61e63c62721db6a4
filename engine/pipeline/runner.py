"""`run_pipeline`: the one call that screens a set of sources (used by `screen` and `bench`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from engine.pipeline.config import PipelineConfig
from engine.pipeline.scheduler import Pipeline
from engine.pipeline.summary import RunSummary
from engine.pipeline.telemetry import PipelineMetrics
from engine.sinks.base import Sink
from engine.sources.base import Source


def unique_names(sources: Sequence[Source]) -> None:
    """Give sources that share a display name a ``#n`` suffix (labels must be unique)."""
    seen: dict[str, int] = {}
    for src in sources:
        n = seen.get(src.name, 0) + 1
        seen[src.name] = n
        if n > 1:
            src.name = f"{src.name}#{n}"


def open_sources(specs: Sequence[str | Source], queue_size: int = 8, **opts) -> list[Source]:
    """Open (not start) every spec; Source objects pass through."""
    from engine.sources import open_source

    out = []
    try:
        for spec in specs:
            out.append(spec if isinstance(spec, Source) else open_source(
                str(spec), queue_size=queue_size, **opts))
    except BaseException:
        for src in out:
            src.stop()
        raise
    unique_names(out)
    return out


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
        backend: a loaded classifier backend; None loads ``backend_name`` with ``model``.
        detector: a face detector; None builds ``MTCNNDetector(min_face=config.min_face)``.
        feature: the spectral feature; None builds ``SpectralFeature`` for the backend's bins.
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
    config = (config or PipelineConfig()).validate()
    if backend is None:
        from engine.backends import load_backend

        backend = load_backend(backend_name, Path(model) if model else None)
    if feature is None:
        from engine.features.spectral import SpectralFeature

        feature = SpectralFeature(backend.contract.spectrum_bins, backend=spectral_backend)
    if detector is None:
        from engine.detect import MTCNNDetector

        detector = MTCNNDetector(min_face=config.min_face)
    opened = open_sources(sources)
    pipeline = Pipeline(opened, config, detector, backend, feature, sinks, metrics, stop_event)
    return pipeline.run()
