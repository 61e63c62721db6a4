"""The product itself under load: N file streams through :func:`engine.pipeline.run_pipeline`.

The harness (:mod:`bench.harness`) times each stage alone in one thread; the engine
runs a reader thread per source and overlaps decoding with the rest. Both are measured in the
scaling run so that the figures a user of `deepscreen screen` will see sit beside the stage
breakdown. File sources are lossless (back-pressure, never a drop), so the engine's fps is
the rate at which it really screens the streams. Its wall time includes starting the reader
threads (models are already loaded and warm).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from bench.harness import HarnessConfig, load_avg_1m
from engine.rss import peak_rss_mib, reset_peak_rss


def run_engine(
    clips: Sequence[Path],
    streams: int,
    frames_per_stream: int,
    detector,
    feature,
    backend,
    config: HarnessConfig,
) -> dict:
    """Screen ``streams`` copies of the clips (stream i reads ``clips[i % len(clips)]``).

    Returns:
        ``{streams, frames, faces, wall_s, fps, per_stream_fps, faces_per_s, dropped,
        mean_batch, peak_rss_mib, stages, error}``; ``stages`` holds the engine's own
        per-stage statistics (p50/p95/p99).
    """
    from engine.pipeline import PipelineConfig, run_pipeline

    pconf = PipelineConfig(
        detect_every=config.detect_every,
        min_face=config.min_face,
        max_batch=config.max_batch,
        max_wait_ms=config.max_wait_ms,
        margin=config.margin,
        max_frames=frames_per_stream,
    )
    sources = [str(clips[i % len(clips)]) for i in range(streams)]
    reset_peak_rss()
    summary = run_pipeline(sources, pconf, backend=backend, detector=detector, feature=feature)
    frames = summary.frames_processed
    faces = sum(s.classified for s in summary.streams)
    wall = summary.wall_s
    return {
        "streams": streams,
        "frames": frames,
        "faces": faces,
        "wall_s": wall,
        "fps": summary.fps,
        "per_stream_fps": summary.fps / streams,
        "faces_per_s": faces / wall if wall > 0 else 0.0,
        "dropped": sum(s.dropped for s in summary.streams),
        "mean_batch": summary.batches.mean_size,
        "peak_rss_mib": peak_rss_mib(),
        "stages": {k: asdict(v) for k, v in summary.stages.items()},
        "error": summary.error,
        "load_avg_1m": load_avg_1m(),
    }


def combine_engine_runs(parts: Sequence[dict]) -> dict:
    """Merge engine runs of one stream count measured at different times (ABBA halves):
    frames, faces, drops and wall time add up; the stage statistics of every part are kept."""
    frames = sum(p["frames"] for p in parts)
    faces = sum(p["faces"] for p in parts)
    wall = sum(p["wall_s"] for p in parts)
    streams = parts[0]["streams"]
    fps = frames / wall if wall > 0 else 0.0
    loads = [p["load_avg_1m"] for p in parts if p["load_avg_1m"] is not None]
    return {
        "streams": streams,
        "frames": frames,
        "faces": faces,
        "wall_s": wall,
        "fps": fps,
        "per_stream_fps": fps / streams,
        "faces_per_s": faces / wall if wall > 0 else 0.0,
        "dropped": sum(p["dropped"] for p in parts),
        "mean_batch": sum(p["mean_batch"] for p in parts) / len(parts),
        "peak_rss_mib": max(p["peak_rss_mib"] for p in parts),
        "stages": parts[0]["stages"] if len(parts) == 1 else None,
        "stages_parts": [p["stages"] for p in parts],
        "error": "; ".join(p["error"] for p in parts if p["error"]),
        "load_avg_1m": round(sum(loads) / len(loads), 2) if loads else None,
        "parts": len(parts),
    }
