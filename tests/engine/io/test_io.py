"""read_image and iter_video_frames on real files, and their errors on broken ones."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from engine.errors import InputError, UsageError
from engine.io import iter_video_frames, read_image
from tests.conftest import shared_path


def test_read_image_is_bgr(tmp_path) -> None:
    rgb = skimage.data.astronaut()
    path = tmp_path / "astronaut é.png"
    assert cv2.imwrite(str(tmp_path / "a.png"), rgb[:, :, ::-1])
    path.write_bytes((tmp_path / "a.png").read_bytes())
    image = read_image(path)
    assert image.dtype == np.uint8 and image.shape == rgb.shape
    np.testing.assert_array_equal(image, rgb[:, :, ::-1])


def test_read_grayscale_gives_three_channels(tmp_path) -> None:
    path = tmp_path / "g.png"
    cv2.imwrite(str(path), skimage.data.camera())
    assert read_image(path).shape == (512, 512, 3)


def test_read_image_errors(tmp_path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_image(tmp_path / "missing.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    with pytest.raises(InputError, match="cannot decode"):
        read_image(bad)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InputError):
        read_image(empty)


@pytest.fixture
def small_video(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for i in range(12):
        writer.write(np.full((48, 64, 3), i * 20, np.uint8))
    writer.release()
    return path


def test_video_every_nth(small_video) -> None:
    frames = list(iter_video_frames(small_video, every=5))
    assert [i for i, _, _ in frames] == [0, 5, 10]
    assert [round(t, 3) for _, t, _ in frames] == [0.0, 0.5, 1.0]
    # MJPG is lossy: the grey level identifies the frame within a few steps.
    assert [int(f.mean() / 20 + 0.5) for _, _, f in frames] == [0, 5, 10]
    assert frames[0][2].shape == (48, 64, 3)


def test_shared_video() -> None:
    path = shared_path("videos", "ffpp-c23", "real", "004.mp4")
    frames = []
    for item in iter_video_frames(path, every=10):
        frames.append(item)
        if len(frames) == 3:
            break
    assert [i for i, _, _ in frames] == [0, 10, 20]
    assert frames[1][1] == pytest.approx(10 / 25, abs=1e-3)


def test_video_errors(tmp_path) -> None:
    with pytest.raises(InputError, match="not found"):
        list(iter_video_frames(tmp_path / "none.mp4"))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated garbage" * 10)
    with pytest.raises(InputError):
        list(iter_video_frames(bad))
    with pytest.raises(UsageError):
        list(iter_video_frames(bad, every=0))
