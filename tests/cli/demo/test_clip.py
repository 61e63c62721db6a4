"""The demo clip: segments, frame counts, ground truth, and a swap that shows up in the video."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from deepscreen_cli.demo.clip import (
    CLIP_NAME,
    PORTRAITS,
    build_demo_clip,
    load_portrait,
    plan_segments,
)
from engine.errors import UsageError
from tests.engine.sources.helpers import read_frames

FPS = 10.0
SECONDS = 1.2  # 12 frames per segment: enough to see motion, quick to build


def test_shipped_portraits_are_small_colour_images() -> None:
    for name in PORTRAITS:
        img = load_portrait(name)
        assert img.shape == (512, 512, 3) and img.dtype == np.uint8
        # Real photographs, not placeholders: plenty of tonal range.
        assert img.std() > 30


def test_plan_covers_every_frame_once_in_order() -> None:
    segs = plan_segments(fps=15.0, seconds_per_segment=3.0)
    assert [s.truth for s in segs] == ["real", "fake", "real", "fake"]
    assert segs[0].start_frame == 0
    for a, b in zip(segs, segs[1:], strict=False):
        assert a.end_frame == b.start_frame
    assert all(s.frames == 45 for s in segs)
    assert segs[1].start_t == pytest.approx(3.0) and segs[-1].end_t == pytest.approx(12.0)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    pytest.importorskip("engine.detect", reason="engine.detect (MTCNN) not present")
    return build_demo_clip(tmp_path_factory.mktemp("demo"), fps=FPS, seconds_per_segment=SECONDS)


def test_clip_has_the_planned_frames_and_manifest(clip) -> None:
    assert clip.path.name == CLIP_NAME and clip.path.stat().st_size > 10_000
    frames = read_frames(clip.path)
    assert len(frames) == clip.n_frames == 4 * 12
    assert all(f.shape == (480, 640, 3) for f in frames)
    manifest = json.loads(clip.manifest.read_text())
    assert manifest["fps"] == FPS
    assert [s["name"] for s in manifest["segments"]] == [s.name for s in clip.segments]
    assert [s["truth"] for s in manifest["segments"]] == ["real", "fake", "real", "fake"]
    assert clip.segment_of(0).name == "hopper" and clip.segment_of(47).name == "astronaut-swapped"
    assert clip.segment_of(48) is None
    assert cv2.imread(str(clip.stills)).shape == (256, 1024, 3)


def test_camera_moves_within_a_segment(clip) -> None:
    frames = read_frames(clip.path)
    for seg in clip.segments:
        first, last = frames[seg.start_frame], frames[seg.end_frame - 1]
        assert np.abs(first.astype(np.int16) - last.astype(np.int16)).mean() > 5.0


def test_swap_changes_the_face_and_little_else(clip) -> None:
    """Real and swapped segments share their camera path: their difference is the face."""
    from engine.detect import MTCNNDetector

    detector = MTCNNDetector(min_face=20)
    frames = read_frames(clip.path)
    n = clip.segments[0].frames
    for real, fake in ((clip.segments[0], clip.segments[1]), (clip.segments[2], clip.segments[3])):
        k = n // 2
        a, b = frames[real.start_frame + k], frames[fake.start_frame + k]
        faces_a, faces_b = detector.detect(a), detector.detect(b)
        assert len(faces_a) >= 1 and len(faces_b) >= 1
        x1, y1, x2, y2 = (int(round(v)) for v in faces_a[0].box)
        inside = np.zeros(a.shape[:2], bool)
        inside[max(y1, 0) : y2, max(x1, 0) : x2] = True
        diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).mean(axis=2)
        # Compression noise is a few grey levels; the swapped face is far more.
        assert diff[inside].mean() > 4 * diff[~inside].mean()
        assert diff[inside].mean() > 8.0
        # The swapped face is found where the real one was (same camera path).
        eye_d = float(np.linalg.norm(faces_a[0].landmarks[1] - faces_a[0].landmarks[0]))
        err = np.linalg.norm(faces_b[0].landmarks - faces_a[0].landmarks, axis=1).mean()
        assert err < 0.25 * eye_d


def test_bad_parameters_are_usage_errors(tmp_path) -> None:
    with pytest.raises(UsageError):
        build_demo_clip(tmp_path, fps=0)
