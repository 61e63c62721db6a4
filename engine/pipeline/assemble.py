"""Assemble a screening run once: the classifier, the detector, the sources and the pipeline.

`deepscreen screen`, `deepscreen demo`, `deepscreen bench` and the scripts in ``bench/`` all
build their runs here, so the chain "backend -> spectral feature -> detector -> sources ->
Pipeline" and the rule "an option, else the model's contract" exist once
(:meth:`PipelineConfig.resolve`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.classifier import Classifier
from engine.errors import UsageError
from engine.pipeline.config import PipelineConfig
from engine.pipeline.scheduler import Pipeline
from engine.pipeline.telemetry import PipelineMetrics
from engine.protocols import FaceClassifier, FaceDetector
from engine.sinks.base import Sink
from engine.sources.base import Source
from engine.timing import StageTimer


@dataclass(frozen=True)
class ClassifierSpec:
    """Which classifier to open.

    Attributes:
        backend: backend name (see :data:`engine.backends.BACKEND_NAMES`).
        model: model file; None = the shipped classifier.
        url: host:port of an Open Inference Protocol server (backend "remote" only).
        remote_model: the model's name on that server (Triton: its repository folder).
        spectral: spectral feature backend: auto, cuda or cpu.
        threads: backend threads (ONNX Runtime intra-op; 0 = its default).
    """

    backend: str = "auto"
    model: Path | None = None
    url: str | None = None
    remote_model: str = "deepscreen"
    spectral: str = "auto"
    threads: int = 0


def build_classifier(spec: ClassifierSpec = ClassifierSpec()) -> Classifier:
    """Open the backend of ``spec`` and pair it with the spectral feature its model expects.

    Raises:
        UsageError: "remote" without a URL, or an unknown name.
        ModelError, BackendUnavailable: the model or the backend cannot be used here.
    """
    from engine.backends import load_backend
    from engine.features.spectral import feature_for

    if spec.backend == "remote" and not spec.url:
        raise UsageError("--backend remote needs --backend-url HOST:PORT")
    opts: dict = (
        {"url": spec.url, "model_name": spec.remote_model} if spec.backend == "remote" else {}
    )
    if spec.threads:
        opts["threads"] = spec.threads
    model = Path(spec.model) if spec.model is not None else None
    backend = load_backend(spec.backend, model, **opts)
    try:
        feature = feature_for(backend.contract.spectrum_bins,
                              bool(getattr(backend, "uses_spectrum", True)), spec.spectral)
    except BaseException:
        backend.close()
        raise
    return Classifier(backend, feature)


def build_detector(config: PipelineConfig, providers: list[str] | None = None) -> FaceDetector:
    """The engine's MTCNN for ``config.min_face`` (``providers``: ONNX Runtime's, e.g. CUDA)."""
    from engine.detect import MTCNNDetector

    return MTCNNDetector(min_face=config.min_face, providers=providers)


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

    out: list[Source] = []
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


def build_pipeline(
    sources: Sequence[str | Source],
    config: PipelineConfig | None = None,
    *,
    classifier: FaceClassifier | ClassifierSpec | None = None,
    detector: FaceDetector | None = None,
    sinks: Sequence[Sink] = (),
    metrics: PipelineMetrics | None = None,
    stop_event: threading.Event | None = None,
    timer: StageTimer | None = None,
    source_opts: dict | None = None,
) -> Pipeline:
    """Build one screening run from a config; call ``.run()`` on the result.

    Everything that can fail for a user reason (bad option, missing model, unreadable source)
    fails here, before any source starts.

    Args:
        sources: source specs (file, folder, webcam, URL) or opened sources.
        config: pipeline options (defaults when None).
        classifier: a built classifier, or what to open (default: ``ClassifierSpec()``).
        detector: a face detector; None builds the engine's MTCNN for ``config.min_face``.
        sinks: outputs. metrics: Prometheus metrics to feed. stop_event: graceful stop.
        timer: the stage clock to record into (the benchmark's); a fresh one when None.
        source_opts: options for opening the specs (``realtime``, ``loop``, ...).
    """
    config = (config or PipelineConfig()).validate()
    if classifier is None or isinstance(classifier, ClassifierSpec):
        classifier = build_classifier(classifier or ClassifierSpec())
    if detector is None:
        detector = build_detector(config)
    opened = open_sources(sources, **(source_opts or {}))
    return Pipeline(opened, config, detector, classifier, sinks=sinks, metrics=metrics,
                    stop_event=stop_event, timer=timer)
