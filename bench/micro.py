"""Micro-benchmarks: the classifier and the spectral feature alone, on real face crops.

The crops come from the runtime's own crop function with the margin the pipeline would use
(:meth:`engine.pipeline.PipelineConfig.resolve`), so the micro figures and the pipeline see
the same pixels.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from bench.variants import OpenedBackend
from engine.crops import visible_square_crop
from engine.errors import InputError
from engine.preprocess import prepare_crops
from engine.protocols import FaceDetector
from engine.timing import summarize

# A configuration stops after --iterations calls or this many seconds (at least MIN_CALLS
# calls), so that slow backends at large batches do not take minutes.
MICRO_BUDGET_S = 10.0
MIN_CALLS = 5
MIN_CROP = 16  # the pipeline's PipelineConfig.min_crop


def timed_calls(fn: Callable[[], object], warmup: int, iterations: int) -> list[float]:
    """Durations (s) of repeated calls of ``fn`` after a few untimed ones."""
    for _ in range(min(warmup, MIN_CALLS)):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < iterations:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= MIN_CALLS and time.perf_counter() - start > MICRO_BUDGET_S:
            break
    return times


def classifier_bench(opened: OpenedBackend, crops: list, spectral, batch: int, warmup: int,
                     iterations: int) -> dict:
    """The network alone: ``predict`` on a prepared batch (no spectrum, no preprocessing)."""
    chunk = crops[:batch]
    x = prepare_crops(chunk, opened.backend.contract)
    spec = np.asarray(spectral(chunk), dtype=np.float32)
    s = summarize(timed_calls(lambda: opened.backend.predict(x, spec), warmup, iterations))
    return {"bench_backend": opened.name, "precision": opened.precision, "batch": batch,
            "latency": s.as_dict(), "crops_per_s": batch * 1000.0 / s.mean_ms}


def spectral_bench(spectral, crops: list, batch: int, warmup: int, iterations: int) -> dict:
    """The spectral feature alone on a batch of native-resolution crops."""
    chunk = crops[:batch]
    s = summarize(timed_calls(lambda: spectral(chunk), warmup, iterations))
    return {"batch": batch, "latency": s.as_dict(), "crops_per_s": batch * 1000.0 / s.mean_ms}


def collect_crops(video: Path, detector: FaceDetector, count: int, margin: float,
                  every: int = 5) -> list[np.ndarray]:
    """Real face crops: detections on every ``every``-th frame, cut as the pipeline cuts them.

    Returns ``count`` native-resolution square BGR crops (repeated when the clip has fewer).

    Raises:
        InputError: no face in the clip.
    """
    cap = cv2.VideoCapture(str(video))
    crops: list[np.ndarray] = []
    index = 0
    try:
        while len(crops) < count:
            ok, frame = cap.read()
            if not ok:
                break
            if index % every == 0:
                for det in detector.detect(frame):
                    crop = visible_square_crop(frame, det.box, margin)
                    if crop is not None and min(crop.shape[:2]) >= MIN_CROP:
                        crops.append(crop)
            index += 1
    finally:
        cap.release()
    if not crops:
        raise InputError(f"no face found in {video}: the classifier benchmark needs faces")
    return [crops[i % len(crops)] for i in range(count)]
