"""Video files and image folders: lossless, back-pressure, corrupt and truncated input."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from engine.errors import InputError, UsageError
from engine.sources import ImageFolderSource, VideoFileSource, open_source
from tests.shared_data import shared_path

from .helpers import as_bgr_uint8, drain, os_thread_count, wait_for, write_clip


def test_video_file_back_pressure_never_drops(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", frames=40)
    threads = threading.active_count()
    source = open_source(str(clip), queue_size=2)
    assert isinstance(source, VideoFileSource) and not source.live and source.name == "clip.avi"
    source.start()
    # The reader fills the queue and then blocks: nothing may be dropped while we stall.
    assert wait_for(lambda: source.stats.queued == 2, 5.0)
    time.sleep(0.3)
    assert source.stats.read == 2 and source.stats.dropped == 0
    frames = drain(source, delay=0.005)
    stats = source.stats
    source.stop()
    assert [f.index for f in frames] == list(range(40))
    assert stats.read == stats.delivered == 40 and stats.dropped == 0
    assert stats.state == "finished" and stats.last_error == ""
    assert all(as_bgr_uint8(f.image) and f.image.shape == (120, 160, 3) for f in frames)
    ts = [f.t for f in frames]
    assert ts[0] == pytest.approx(0.0) and ts[-1] == pytest.approx(39 / 25, abs=1e-3)
    assert all(b > a for a, b in zip(ts, ts[1:], strict=False))
    assert threading.active_count() == threads


@pytest.mark.slow  # decodes 309 frames of 1280x720 H.264: 8-17 s on the 2-core dev box
def test_shared_clip_reads_every_frame() -> None:
    path = shared_path("videos", "ffpp-c23", "real", "004.mp4")
    source = open_source(str(path), queue_size=4)
    assert source.frame_count == 309
    source.start()
    frames = drain(source, limit=300)  # a safety net only: a busy CI box decodes slowly
    source.stop()
    assert len(frames) == 309 and source.stats.dropped == 0
    assert frames[0].image.shape == (720, 1280, 3)
    assert frames[-1].t == pytest.approx(308 / 25, abs=0.05)


def test_stop_mid_file_counts_discarded_frames(tmp_path: Path) -> None:
    base_threads = os_thread_count()
    source = open_source(str(write_clip(tmp_path / "c.avi", frames=40)), queue_size=3)
    source.start()
    got = drain(source, max_frames=5)
    assert wait_for(lambda: source.stats.queued == 3, 5.0)
    source.stop()
    source.stop()  # idempotent
    stats = source.stats
    assert len(got) == 5 and stats.queued == 0 and source.finished
    assert stats.read == stats.delivered + stats.dropped
    assert stats.dropped == stats.dropped_at_stop >= 3
    assert source.get(0.1) is None
    assert wait_for(lambda: os_thread_count() <= base_threads, 3.0)


def test_loop_keeps_indices_and_time_increasing(tmp_path: Path) -> None:
    source = open_source(str(write_clip(tmp_path / "c.avi", frames=10)), loop=True)
    source.start()
    frames = drain(source, max_frames=25)
    source.stop()
    assert [f.index for f in frames] == list(range(25))
    assert all(b.t > a.t for a, b in zip(frames, frames[1:], strict=False))


def test_random_bytes_named_mp4_is_a_clear_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match="cannot open video .*corrupt.mp4"):
        open_source(str(bad))


def test_truncated_mp4_without_index_is_a_clear_input_error(tmp_path: Path) -> None:
    # FF++ clips keep their index (moov) at the end: the first 60 KB have no index at all.
    real = shared_path("videos", "ffpp-c23", "real", "004.mp4")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(real.read_bytes()[:60_000])
    with pytest.raises(InputError, match="truncated"):
        open_source(str(cut))


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg binary not installed")
def test_truncated_faststart_mp4_reads_what_decodes_then_fails(tmp_path: Path) -> None:
    real = shared_path("videos", "ffpp-c23", "real", "004.mp4")
    faststart = tmp_path / "faststart.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(real), "-c", "copy", "-movflags", "+faststart",
         str(faststart)], check=True, timeout=60,
    )
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(faststart.read_bytes()[: faststart.stat().st_size // 2])
    source = open_source(str(cut))
    source.start()
    frames = drain(source, limit=120)
    source.stop()
    stats = source.stats
    assert 10 < len(frames) < 309
    assert stats.state == "failed" and f"after {len(frames)} of 309 frames" in stats.last_error
    assert stats.read == len(frames) and stats.dropped == 0


def test_corrupt_bytes_mid_file_never_hang(tmp_path: Path) -> None:
    real = shared_path("videos", "ffpp-c23", "real", "004.mp4")
    raw = bytearray(real.read_bytes())
    rng = np.random.default_rng(1)
    start = len(raw) // 3
    raw[start : start + 20_000] = rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    bad = tmp_path / "damaged.mp4"
    bad.write_bytes(bytes(raw))
    source = open_source(str(bad))
    source.start()
    frames = drain(source, limit=120)
    source.stop()
    stats = source.stats
    assert source.finished and stats.state in ("finished", "failed")
    assert len(frames) > 50 and stats.read == stats.delivered
    if stats.state == "failed":
        assert "corrupt" in stats.last_error


def _write_odd_folder(folder: Path) -> None:
    folder.mkdir()
    rgb = data.astronaut()
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    cv2.imwrite(str(folder / "frame2.png"), gray[:101, :77])  # grayscale, odd size
    bgra = cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), cv2.COLOR_BGR2BGRA)
    cv2.imwrite(str(folder / "frame10.png"), bgra[:63, :129])  # with alpha
    cv2.imwrite(str(folder / "frame1.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)[:33, :35])
    cv2.imwrite(str(folder / "frame3.png"), (gray[:20, :21].astype(np.uint16) * 257))  # 16 bit
    (folder / "frame4.jpg").write_bytes(b"not a jpeg")
    (folder / "notes.txt").write_text("ignored")


def test_folder_grayscale_alpha_odd_sizes_in_natural_order(tmp_path: Path) -> None:
    folder = tmp_path / "shots"
    _write_odd_folder(folder)
    source = open_source(str(folder), fps=10.0, queue_size=1)
    assert isinstance(source, ImageFolderSource) and source.name == "shots"
    source.start()
    frames = drain(source, delay=0.01)
    source.stop()
    shapes = [f.image.shape for f in frames]
    assert shapes == [(33, 35, 3), (101, 77, 3), (20, 21, 3), (63, 129, 3)]
    assert all(as_bgr_uint8(f.image) for f in frames)
    gray = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[:101, :77]
    assert np.array_equal(frames[1].image[:, :, 0], gray)  # PNG is lossless: exact pixels
    assert np.array_equal(frames[2].image[:, :, 1], gray[:20, :21])  # 16 bit -> 8 bit
    assert [f.t for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    stats = source.stats
    assert stats.errors == 1 and "frame4.jpg" in stats.last_error
    assert stats.read == 4 and stats.dropped == 0 and stats.state == "finished"


def test_single_image_is_a_one_frame_source() -> None:
    path = shared_path("images", "grace_hopper_512x512.jpg")
    with open_source(str(path)) as source:
        frames = drain(source)
    assert len(frames) == 1 and frames[0].image.shape == (512, 512, 3)
    assert source.name == "grace_hopper_512x512.jpg"


def test_bad_specs_raise_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or folder"):
        open_source(str(tmp_path / "missing.mp4"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no images in folder"):
        open_source(str(empty))
    with pytest.raises(UsageError, match="unknown source option"):
        open_source(str(empty), laop=True)
    with pytest.raises(UsageError, match="unsupported URL scheme"):
        open_source("ftp://u:secret@host/x")
    with pytest.raises(InputError, match="no webcam"):
        open_source("/dev/video97")
    with pytest.raises(UsageError, match="queue_size"):
        open_source(str(write_clip(tmp_path / "c.avi", frames=2)), queue_size=0)


def test_stopping_an_unstarted_file_source_releases_its_decoder(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "c.avi", frames=5)
    before = os_thread_count()
    sources = [open_source(str(clip)) for _ in range(4)]
    for source in sources:
        source.stop()
        assert source.finished and source.get(0) is None
    assert wait_for(lambda: os_thread_count() <= before, 3.0)
