"""The engine itself, measured as it runs: N file streams through the real :class:`Pipeline`.

Nothing here re-implements a stage. The benchmark builds the pipeline that `deepscreen screen`
runs (:func:`engine.pipeline.build_pipeline`: reader threads, detector every k-th frame,
tracker, the runtime's crops, cross-stream batches, the classifier, voting) and injects two
things: its own stage clock (:class:`engine.timing.StageTimer`, paused during the warm-up and
shared by the parts of one configuration) and an observer sink that opens the clock after the
warm-up frames and counts the timed frames and faces.

Stage clocks: decode is timed in each source's reader thread (it overlaps the rest, so the
sum of the stages can exceed the wall time with several streams); detect, track and crop per
frame; spectral, preprocess, classify and vote per batch; ``batch_wait`` per crop and ``wait``
while the scheduler idles for frames.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.machine import load_avg_1m
from engine.budget import BudgetConfig
from engine.pipeline import PipelineConfig, build_pipeline
from engine.protocols import FaceClassifier, FaceDetector
from engine.rss import peak_rss_mib, reset_peak_rss
from engine.sinks.base import FrameView, Sink
from engine.timing import StageStats, StageTimer


@dataclass(frozen=True)
class MeasureConfig:
    """Pipeline options that change the work done (the engine's defaults).

    Attributes:
        detect_every: run the detector on every k-th frame of a stream, track in between.
        min_face: smallest face side (pixels) the detector searches for.
        max_batch: most crops per spectral/classifier call, across streams.
        max_wait_ms: longest a crop waits for its batch to fill.
        margin: relative crop margin; None = the model's contract.
        budget: the classification budget (default: `deepscreen screen`'s).
    """

    detect_every: int = 5
    min_face: int = 40
    max_batch: int = 16
    max_wait_ms: float = 50.0
    margin: float | None = None
    budget: BudgetConfig = field(default_factory=BudgetConfig)

    def pipeline_config(self, max_frames: int) -> PipelineConfig:
        return PipelineConfig(
            detect_every=self.detect_every, min_face=self.min_face, max_batch=self.max_batch,
            max_wait_ms=self.max_wait_ms, margin=self.margin, max_frames=max_frames,
            budget=self.budget,
        )


@dataclass
class RunResult:
    """One measured configuration (the timed part, after the warm-up).

    Attributes:
        backend: classifier backend label; streams: simultaneous streams.
        frames: timed frames over all streams; faces: crops classified in the timed part.
        wall_s: wall-clock seconds of the timed part.
        fps: aggregate frames per second; per_stream_fps: ``fps / streams``.
        faces_per_s: crops classified per second.
        mean_batch: mean number of crops per classifier call.
        peak_rss_mib: peak resident memory of the process during this run.
        stages: latency per stage (see the module docstring).
        engine: the same run seen whole (warm-up and reader start-up included), as a user of
            `deepscreen screen` sees it: frames, wall_s, fps, dropped, error.
    """

    backend: str
    max_batch: int
    streams: int
    frames: int
    faces: int
    wall_s: float
    fps: float
    per_stream_fps: float
    faces_per_s: float
    mean_batch: float
    peak_rss_mib: float
    stages: dict[str, StageStats]
    load_avg_1m: float | None = None
    batches: int = 0
    parts: int = 1
    engine: dict | None = None


class WarmupGate(Sink):
    """Opens the stage clock once the warm-up frames are processed; counts the timed part."""

    wants_frames = True

    def __init__(self, timer: StageTimer, warmup_frames: int) -> None:
        self.timer = timer
        self.warmup_frames = warmup_frames
        self.seen = 0
        self.frames = 0
        self.faces = 0
        self.t_start = time.perf_counter()
        timer.recording = warmup_frames == 0

    def on_frame(self, view: FrameView) -> None:
        if self.timer.recording:
            self.frames += 1
        self.seen += 1
        if not self.timer.recording and self.seen >= self.warmup_frames:
            self.timer.recording = True
            self.t_start = time.perf_counter()

    def on_prediction(self, stream, track, frame_index, t, p_fake) -> None:
        if self.timer.recording:
            self.faces += 1


def measure_pipeline(
    videos: Sequence[Path],
    streams: int,
    frames_per_stream: int,
    warmup: int,
    detector: FaceDetector,
    classifier: FaceClassifier,
    config: MeasureConfig,
    timer: StageTimer | None = None,
) -> RunResult:
    """Screen ``streams`` file streams (stream i reads ``videos[i % len(videos)]``) with the
    engine's pipeline: ``warmup`` untimed frames per stream, then ``frames_per_stream`` timed.

    Args:
        timer: stage clock to add to (several parts of one configuration share one, see
            :func:`combine_runs`); a fresh one when None.
    """
    timer = timer if timer is not None else StageTimer()
    gate = WarmupGate(timer, warmup * streams)
    sources = [str(videos[i % len(videos)]) for i in range(streams)]
    pipeline = build_pipeline(
        sources, config.pipeline_config(warmup + frames_per_stream), classifier=classifier,
        detector=detector, sinks=[gate], timer=timer,
    )
    reset_peak_rss()
    summary = pipeline.run()
    end = time.perf_counter()
    timer.recording = True
    wall = end - gate.t_start
    batches = summary.batches.batches
    fps = gate.frames / wall if wall > 0 else 0.0
    engine = {
        "streams": streams,
        "frames": summary.frames_processed,
        "faces": sum(s.classified for s in summary.streams),
        "wall_s": summary.wall_s,
        "fps": summary.fps,
        "per_stream_fps": summary.fps / streams,
        "dropped": sum(s.dropped for s in summary.streams),
        "mean_batch": summary.batches.mean_size,
        "error": summary.error,
    }
    return RunResult(
        backend=classifier.name,
        max_batch=config.max_batch,
        streams=streams,
        frames=gate.frames,
        faces=gate.faces,
        wall_s=wall,
        fps=fps,
        per_stream_fps=fps / streams,
        faces_per_s=gate.faces / wall if wall > 0 else 0.0,
        mean_batch=summary.batches.mean_size,
        peak_rss_mib=peak_rss_mib(),
        stages=timer.stats(),
        load_avg_1m=load_avg_1m(),
        batches=batches,
        engine=engine,
    )


def combine_runs(parts: Sequence[RunResult], timer: StageTimer) -> RunResult:
    """One result from several parts of the same configuration measured at different times.

    Frames, faces and wall time add up; the stage statistics come from ``timer``, the clock
    every part recorded into; the load average is the mean of the parts'.
    """
    first = parts[0]
    frames = sum(p.frames for p in parts)
    faces = sum(p.faces for p in parts)
    wall = sum(p.wall_s for p in parts)
    batches = sum(p.batches for p in parts)
    loads = [p.load_avg_1m for p in parts if p.load_avg_1m is not None]
    fps = frames / wall if wall > 0 else 0.0
    return RunResult(
        backend=first.backend,
        max_batch=first.max_batch,
        streams=first.streams,
        frames=frames,
        faces=faces,
        wall_s=wall,
        fps=fps,
        per_stream_fps=fps / first.streams,
        faces_per_s=faces / wall if wall > 0 else 0.0,
        # Batches are counted over whole runs (warm-up included), so are their crops.
        mean_batch=sum(p.engine["faces"] for p in parts if p.engine) / batches if batches
        else 0.0,
        peak_rss_mib=max(p.peak_rss_mib for p in parts),
        stages=timer.stats(),
        load_avg_1m=round(sum(loads) / len(loads), 2) if loads else None,
        batches=batches,
        parts=len(parts),
        engine=combine_engine_views([p.engine for p in parts if p.engine]),
    )


def combine_engine_views(parts: Sequence[dict]) -> dict | None:
    """The whole-run views of several parts: frames, faces, drops and wall time add up."""
    if not parts:
        return None
    frames = sum(p["frames"] for p in parts)
    wall = sum(p["wall_s"] for p in parts)
    streams = parts[0]["streams"]
    fps = frames / wall if wall > 0 else 0.0
    return {
        "streams": streams,
        "frames": frames,
        "faces": sum(p["faces"] for p in parts),
        "wall_s": wall,
        "fps": fps,
        "per_stream_fps": fps / streams,
        "dropped": sum(p["dropped"] for p in parts),
        "mean_batch": sum(p["mean_batch"] for p in parts) / len(parts),
        "error": "; ".join(p["error"] for p in parts if p["error"]),
        "parts": len(parts),
    }


def run_dict(r: RunResult, name: str, precision: str) -> dict:
    """A result as it goes into bench.json."""
    d = asdict(r)
    d["stages"] = {k: v.as_dict() for k, v in r.stages.items()}
    d.update(bench_backend=name, precision=precision, speedup_vs_baseline=None)
    return d
