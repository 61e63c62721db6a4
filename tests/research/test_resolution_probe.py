"""research/resolution_probe.py: the input-sharpness measure and the video frame reader."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.shared_data import shared_path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "research"))

from resolution_probe import input_sharpness, read_frame  # noqa: E402


def test_a_shrunk_and_enlarged_photo_is_softer_at_the_network_input() -> None:
    data = pytest.importorskip("skimage.data")
    photo = np.ascontiguousarray(data.astronaut()[:, :, ::-1])  # 512 px, BGR
    small = cv2.resize(photo, (128, 128), interpolation=cv2.INTER_AREA)
    assert input_sharpness(photo, 224) > 2 * input_sharpness(small, 224)
    assert input_sharpness(np.full((300, 300, 3), 90, np.uint8), 224) == 0.0


def test_a_video_gives_its_frame_and_a_bad_one_a_clear_exit(tmp_path) -> None:
    clip = shared_path("videos", "ffpp-c23", "real", "519.mp4")
    frame = read_frame(clip, 30)
    assert frame.ndim == 3 and frame.shape[:2] == (480, 640)
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(SystemExit, match="cannot read frame 30"):
        read_frame(bad, 30)
