"""A real security camera: street.mp4 (1920x1080, 4-7 faces a frame) looped, as `screen` runs it.

The clip has 105 frames, so it is read in a loop (timestamps keep increasing) until
``frames`` frames are screened, with `deepscreen screen`'s pipeline and the given options;
the figure is the whole run's frames per second, start-up included, as a user sees it. Run
once with full-frame detection on every k-th frame and once with detection around the tracks
between full detections (:mod:`engine.detect.regions`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench.onset import SHARED_VIDEOS
from engine.pipeline import PipelineConfig, build_pipeline
from engine.protocols import FaceClassifier, FaceDetector
from engine.sources.files import VideoFileSource

STREET = SHARED_VIDEOS / "multiface" / "street.mp4"


@dataclass
class StreetRun:
    """One screening of the looped street clip.

    Attributes:
        full_detect_every: frames between full-frame detections (0 = every detection).
        frames: frames screened; wall_s: the whole run; fps: frames / wall_s.
        classified: crops classified; skipped: crops the budget saved.
        tracks: face tracks created (a sanity check that faces were followed).
        detections: faces the detector returned, full-frame and around the tracks (how many
            it keeps finding: bench/region_recall.py compares the searches per face).
        stage_ms_per_frame: milliseconds per frame spent in each stage.
        error: the run's error ("" when none).
        mirrored: crops that also got the mirror pass (a single-pass twin's band; 0 for a
            graph with the flip inside).
    """

    full_detect_every: int
    frames: int
    wall_s: float
    fps: float
    classified: int
    skipped: int
    tracks: int
    stage_ms_per_frame: dict
    detections: int = 0
    error: str = ""
    mirrored: int = 0


def screen_street(config: PipelineConfig, classifier: FaceClassifier, detector: FaceDetector,
                  frames: int, path: Path = STREET) -> StreetRun:
    """Screen ``frames`` frames of the looped clip with ``config`` (its max_frames replaced)."""
    source = VideoFileSource(path, loop=True)
    mirrored0 = getattr(classifier, "mirrored", 0)
    pipeline = build_pipeline([source], replace(config, max_frames=frames),
                              classifier=classifier, detector=detector)
    t0 = time.perf_counter()
    summary = pipeline.run()
    wall = time.perf_counter() - t0
    s = summary.streams[0]
    n = max(s.processed, 1)
    return StreetRun(
        full_detect_every=config.full_detect_every, frames=s.processed, wall_s=wall,
        fps=s.processed / wall if wall > 0 else 0.0, classified=s.classified,
        skipped=s.skipped_settled + s.skipped_budget, tracks=s.tracks, detections=s.detections,
        stage_ms_per_frame={k: v.total_ms / n for k, v in summary.stages.items()},
        error=summary.error, mirrored=getattr(classifier, "mirrored", 0) - mirrored0)
