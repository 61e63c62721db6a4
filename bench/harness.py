"""Our pipeline, stage by stage, instrumented for benchmarking.

The harness runs the engine's own components in the order of the streaming engine (see
``DESIGN.md``): decode -> detect (every k-th frame) -> track -> crop -> cross-stream batch ->
spectral feature -> preprocess -> classify -> vote. It drives N file streams round-robin from
one thread, so each stage's time is measured alone (no overlap, no queue waits to subtract) and
the sum of the stages is the work per frame. Batches close when ``max_batch`` crops are pending
or the oldest crop has waited ``max_wait_ms``, as in :mod:`engine.batching`.

Frames read in the first ``warmup`` rounds are processed but not timed: session creation,
first-call allocations and OpenCV's decoder start-up never reach the percentiles.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from bench.baseline import square_box
from engine.backends.base import Backend
from engine.errors import InputError
from engine.pipeline.timing import StageStats as LatencySummary
from engine.pipeline.timing import StageTimer
from engine.preprocess import prepare_crops
from engine.rss import peak_rss_mib, reset_peak_rss
from engine.track import Tracker
from engine.vote import VoteConfig, Voter

STAGES = ("decode", "detect", "track", "crop", "spectral", "preprocess", "classify", "vote")
MIN_CROP = 16


@dataclass(frozen=True)
class HarnessConfig:
    """Pipeline options that change the work done (the engine's defaults).

    Attributes:
        detect_every: run the detector on every k-th frame of a stream, track in between.
        min_face: smallest face side (pixels) the detector searches for.
        max_batch: most crops per spectral/classifier call, across streams.
        max_wait_ms: longest a crop waits for its batch to fill.
        margin: relative crop margin; None = the model's contract.
    """

    detect_every: int = 5
    min_face: int = 40
    max_batch: int = 16
    max_wait_ms: float = 50.0
    margin: float | None = None


@dataclass
class RunResult:
    """One measured configuration.

    Attributes:
        backend: classifier backend label; streams: simultaneous streams.
        frames: timed frames over all streams; faces: crops classified in the timed part.
        wall_s: wall-clock seconds of the timed part.
        fps: aggregate frames per second; per_stream_fps: ``fps / streams``.
        faces_per_s: crops classified per second.
        mean_batch: mean number of crops per classifier call.
        peak_rss_mib: peak resident memory of the process during this run.
        stages: latency per stage (decode/detect/track/crop per frame, the rest per batch).
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
    stages: dict[str, LatencySummary]
    load_avg_1m: float | None = None
    batches: int = 0
    parts: int = 1


def load_avg_1m() -> float | None:
    """The 1-minute load average now (other users' jobs included), or None."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


@dataclass
class _Pending:
    stream: int
    track: int
    t: float
    crop: np.ndarray = field(repr=False)
    enqueued: float


class _Stream:
    def __init__(self, index: int, path: Path) -> None:
        self.index = index
        self.name = f"s{index}:{path.name}"
        self.cap = cv2.VideoCapture(str(path))
        if not self.cap.isOpened():
            raise InputError(f"cannot open video {path}")
        self.fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 25.0)
        self.tracker = Tracker()
        self.voters: dict[int, Voter] = {}
        self.frame_index = 0
        self.done = False


def run_harness(
    videos: Sequence[Path],
    streams: int,
    frames_per_stream: int,
    warmup: int,
    detector,
    spectral,
    backend: Backend,
    config: HarnessConfig,
    vote: VoteConfig | None = None,
    timer: StageTimer | None = None,
) -> RunResult:
    """Screen ``streams`` file streams (stream i reads ``videos[i % len(videos)]``).

    Args:
        videos: clips to read; each stream opens its own decoder.
        streams: number of simultaneous streams.
        frames_per_stream: timed frames per stream (after warm-up).
        warmup: untimed frames per stream processed first.
        detector: object with ``detect(bgr) -> list[Detection]`` (the engine's MTCNN).
        spectral: callable ``crops -> (N, bins)``
            (:class:`engine.features.spectral.SpectralFeature`).
        backend: the classifier backend.
        config: pipeline options.
        vote: voting options (default: the engine's, with the model's threshold).
        timer: stage clock to add to (to merge several parts of one configuration, see
            :func:`combine_runs`); a fresh one when None.

    Raises:
        InputError: a video cannot be opened.
    """
    contract = backend.contract
    margin = contract.margin if config.margin is None else config.margin
    vote = vote or VoteConfig(threshold=contract.threshold)
    opened = [_Stream(i, Path(videos[i % len(videos)])) for i in range(streams)]
    timer = timer if timer is not None else StageTimer()
    pending: list[_Pending] = []
    frames = faces = batches = 0
    wait_s = config.max_wait_ms / 1000.0

    def flush(items: list[_Pending]) -> None:
        nonlocal faces, batches
        for start in range(0, len(items), config.max_batch):
            chunk = items[start : start + config.max_batch]
            crops = [p.crop for p in chunk]
            with timer.stage("spectral"):
                spec = np.asarray(spectral(crops), dtype=np.float32)
            with timer.stage("preprocess"):
                x = prepare_crops(crops, contract)
            with timer.stage("classify"):
                probs = backend.predict(x, spec)
            with timer.stage("vote"):
                for p, prob in zip(chunk, probs, strict=True):
                    s = opened[p.stream]
                    voter = s.voters.get(p.track)
                    if voter is None:
                        voter = s.voters[p.track] = Voter(vote, s.name, p.track)
                    voter.add(float(prob), p.t)
            if timer.recording:
                faces += len(chunk)
                batches += 1

    reset_peak_rss()
    timer.recording = warmup == 0
    t_start = time.perf_counter()
    for rnd in range(warmup + frames_per_stream):
        if rnd == warmup:
            # Warm-up ends: classify what it queued untimed, then start the clock.
            flush(pending)
            pending = []
            timer.recording = True
            t_start = time.perf_counter()
        live = [s for s in opened if not s.done]
        if not live:
            break
        for s in live:
            with timer.stage("decode"):
                ok, frame = s.cap.read()
            if not ok:
                s.done = True
                continue
            idx = s.frame_index
            s.frame_index += 1
            if idx % config.detect_every == 0:
                with timer.stage("detect"):
                    dets = detector.detect(frame)
                with timer.stage("track"):
                    s.tracker.update(dets, idx)
            else:
                with timer.stage("track"):
                    s.tracker.predict(idx, frame.shape)
            h, w = frame.shape[:2]
            now = time.perf_counter()
            with timer.stage("crop"):
                for track in s.tracker.tracks:
                    x1, y1, x2, y2 = square_box(track.box, margin, w, h)
                    if min(x2 - x1, y2 - y1) < MIN_CROP:
                        continue
                    crop = np.ascontiguousarray(frame[y1:y2, x1:x2])
                    pending.append(_Pending(s.index, track.id, idx / s.fps, crop, now))
            if timer.recording:
                frames += 1
            if len(pending) >= config.max_batch or (
                pending and time.perf_counter() - pending[0].enqueued >= wait_s
            ):
                flush(pending)
                pending = []
    flush(pending)
    wall = time.perf_counter() - t_start
    for s in opened:
        s.cap.release()
    fps = frames / wall if wall > 0 else 0.0
    return RunResult(
        backend=backend.name,
        max_batch=config.max_batch,
        streams=streams,
        frames=frames,
        faces=faces,
        wall_s=wall,
        fps=fps,
        per_stream_fps=fps / streams,
        faces_per_s=faces / wall if wall > 0 else 0.0,
        mean_batch=faces / batches if batches else 0.0,
        peak_rss_mib=peak_rss_mib(),
        stages=timer.summaries(),
        load_avg_1m=load_avg_1m(),
        batches=batches,
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
        mean_batch=faces / batches if batches else 0.0,
        peak_rss_mib=max(p.peak_rss_mib for p in parts),
        stages=timer.summaries(),
        load_avg_1m=round(sum(loads) / len(loads), 2) if loads else None,
        batches=batches,
        parts=len(parts),
    )


def collect_crops(video: Path, detector, count: int, margin: float, every: int = 5) -> list:
    """Real face crops for the classifier micro-benchmark: detections on every ``every``-th frame.

    Returns up to ``count`` native-resolution square BGR crops (repeated to ``count`` when the
    clip has fewer faces).
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
                h, w = frame.shape[:2]
                for det in detector.detect(frame):
                    x1, y1, x2, y2 = square_box(det.box, margin, w, h)
                    if min(x2 - x1, y2 - y1) >= MIN_CROP:
                        crops.append(np.ascontiguousarray(frame[y1:y2, x1:x2]))
            index += 1
    finally:
        cap.release()
    if not crops:
        raise InputError(f"no face found in {video}: the classifier benchmark needs faces")
    return [crops[i % len(crops)] for i in range(count)]
