"""The baseline: the pipeline a user would write from the seed projects, measured in our run.

What a user gets by gluing the seed projects together: facenet-pytorch's ``MTCNN`` on every
frame (no tracker), a square crop around each box, Durall's spectrum computed literally for that
one crop (:func:`engine.features.spectral.radial_spectrum_reference`: full complex FFT, float64),
and the PyTorch eager classifier called once per face, one stream at a time. Same frames, same
minimum face size, same crop margin and the same network as our pipeline (see
:mod:`bench.torch_model` for where its weights come from).

torch and facenet-pytorch are imported inside :func:`run_baseline`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from bench.machine import load_avg_1m
from bench.torch_model import TorchModelSpec, build_torch_model
from engine.crops import visible_square_crop
from engine.errors import BackendUnavailable
from engine.features.spectral import radial_spectrum_reference
from engine.preprocess import prepare_crops
from engine.rss import peak_rss_mib, reset_peak_rss
from engine.timing import StageStats as LatencySummary
from engine.timing import StageTimer
from export.mtcnn import facenet_module

BASELINE_STAGES = ("decode", "detect", "crop", "spectral", "classify")


@dataclass
class BaselineResult:
    """One baseline run.

    Attributes:
        frames: timed frames (after warm-up).
        faces: faces classified in the timed frames.
        wall_s: wall-clock seconds of the timed part.
        fps, faces_per_s: throughput.
        peak_rss_mib: peak resident memory during the run.
        stages: latency per stage (per frame; classify and spectral per face).
        model: how the eager network was built.
        detector: description of the detector settings.
    """

    frames: int
    faces: int
    wall_s: float
    fps: float
    faces_per_s: float
    peak_rss_mib: float
    stages: dict[str, LatencySummary]
    model: TorchModelSpec
    detector: str
    notes: list[str] = field(default_factory=list)
    load_avg_1m: float | None = None


def run_baseline(
    videos: Sequence[Path],
    frames_per_video: int,
    warmup: int,
    min_face: int,
    checkpoint: Path | None = None,
    onnx_model: Path | None = None,
    margin: float | None = None,
    device: str = "cpu",
) -> BaselineResult:
    """Run the baseline on the first ``warmup + frames_per_video`` frames of each video.

    Videos are processed one after the other (one stream at a time); the first ``warmup``
    frames of each are processed but not timed. ``device="cuda"`` puts facenet-pytorch's MTCNN
    and the classifier on the GPU (FP32, eager), as a user with a GPU would.

    Raises:
        BackendUnavailable: torch or facenet-pytorch is not installed.
    """
    facenet = facenet_module("facenet_pytorch", "the baseline")
    import torch  # present: facenet-pytorch runs on it

    model, contract, spec = build_torch_model(checkpoint, onnx_model)
    if device == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailable("baseline on --device cuda: PyTorch sees no CUDA device")
    model = model.to(device)
    margin = contract.margin if margin is None else margin
    mtcnn = facenet.MTCNN(keep_all=True, min_face_size=min_face, device=device)
    timer = StageTimer()
    frames = faces = 0
    wall = 0.0
    reset_peak_rss()
    for video in videos:
        cap = cv2.VideoCapture(str(video))
        index = 0
        try:
            while index < warmup + frames_per_video:
                timer.recording = index >= warmup
                t_frame = time.perf_counter()
                with timer.stage("decode"):
                    ok, frame = cap.read()
                if not ok:
                    break
                with timer.stage("detect"):
                    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                    boxes, _ = mtcnn.detect(rgb)
                # numpy 2: facenet-pytorch returns object arrays (or None without faces).
                boxes = [] if boxes is None else np.asarray(boxes, dtype=np.float32)
                for box in boxes:
                    with timer.stage("crop"):
                        # The runtime's crop function: one crop geometry in the project.
                        crop = visible_square_crop(frame, tuple(box), margin)
                    if crop is None or min(crop.shape[:2]) < 16:
                        continue
                    with timer.stage("spectral"):
                        spectrum = radial_spectrum_reference(crop, contract.spectrum_bins)
                    with timer.stage("classify"):
                        x = torch.from_numpy(prepare_crops([crop], contract)).to(device)
                        s = torch.from_numpy(spectrum[None].astype(np.float32)).to(device)
                        with torch.no_grad():
                            torch.sigmoid(model(x, s)).item()
                    if timer.recording:
                        faces += 1
                if timer.recording:
                    frames += 1
                    wall += time.perf_counter() - t_frame
                index += 1
        finally:
            cap.release()
    stats = timer.summaries()

    return BaselineResult(
        load_avg_1m=load_avg_1m(),
        frames=frames,
        faces=faces,
        wall_s=wall,
        fps=frames / wall if wall > 0 else 0.0,
        faces_per_s=faces / wall if wall > 0 else 0.0,
        peak_rss_mib=peak_rss_mib(),
        stages={k: stats[k] for k in BASELINE_STAGES if k in stats},
        model=spec,
        detector=f"facenet-pytorch MTCNN (torch {torch.__version__}, {device}), every frame, "
        f"min_face {min_face}",
        notes=[
            f"torch threads: {torch.get_num_threads()}, "
            f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}",
            "spectrum: float64 full-plane FFT per face (Durall's recipe, one crop at a time)",
        ],
    )
