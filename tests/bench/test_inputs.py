"""Which clips the benchmark reads by default, and the 640x480 copies for the scaling run."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.inputs import as_640x480, default_videos, resize_video, video_info
from tests.shared_data import shared_path


def test_default_is_the_shared_640x480_ffpp_clips(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    data = shared_path("videos", "ffpp-c23", "real", "519.mp4").parents[3]
    monkeypatch.setenv("DEEPSCREEN_SHARED_DATA", str(data))
    videos, source = default_videos(tmp_path)
    assert videos[0].name == "519.mp4" and "FaceForensics" in source
    assert all(video_info(v)[:2] == (640, 480) for v in videos)


def test_without_shared_data_the_demo_clip_is_built(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSCREEN_SHARED_DATA", "")
    videos, source = default_videos(tmp_path)
    assert "demo clip" in source
    w, h, fps, frames = video_info(videos[0])
    assert (w, h) == (640, 480) and fps > 0 and frames > 10


def test_other_sizes_are_resized_to_640x480(tmp_path: Path, portrait_clip: Path) -> None:
    small = resize_video(portrait_clip, tmp_path / "small.avi", size=(320, 240), max_frames=5)
    assert video_info(small)[:2] == (320, 240) and video_info(small)[3] == 5
    out = as_640x480([portrait_clip, small], tmp_path)
    assert out[0] == portrait_clip  # already 640x480: used as is
    assert out[1] != small and video_info(out[1])[:2] == (640, 480)
    assert video_info(out[1])[3] == 5
