"""Bad sources and options: exit code, one error line, no traceback; dead cameras give up."""

from __future__ import annotations

import json
import time

import cv2
import pytest
from shared_data import SHARED_DATA

from tests.faults.cli import (
    ASTRONAUT,
    assert_clean,
    assert_one_error,
    free_port,
    model_args,
    read_summary,
    run_cli,
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 40-frame mp4v clip of the astronaut, written here (moov at its end, as OpenCV does)."""
    path = tmp_path_factory.mktemp("clip") / "astronaut.mp4"
    image = cv2.resize(cv2.imread(str(ASTRONAUT)), (256, 256))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (256, 256))
    if not writer.isOpened():
        pytest.skip("OpenCV cannot write mp4v here")
    for _ in range(40):
        writer.write(image)
    writer.release()
    return path


@pytest.mark.parametrize("kind", ["zero-byte", "text", "truncated-head", "truncated-tail"])
def test_broken_video_files(tmp_path, clip, kind) -> None:
    """Each broken file: a usage error (cannot be opened) or a runtime error (stops decoding
    early), never a verdict, one line, no traceback."""
    bad = tmp_path / f"{kind}.mp4"
    if kind == "zero-byte":
        bad.write_bytes(b"")
    elif kind == "text":
        bad.write_text("this is not a video\n" * 50)
    elif kind == "truncated-head":  # the index (moov) is at the end: the file cannot open
        bad.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    else:  # a clip whose index is at its start, cut in the middle: decodes, then stops
        src = SHARED_DATA / "videos" / "ffpp-c23" / "real" / "004.mp4"
        if not src.is_file():
            pytest.skip(f"shared data not present: {src}")
        bad.write_bytes(src.read_bytes()[: src.stat().st_size // 3])
    summary = tmp_path / "summary.csv"
    run = run_cli(str(bad), *model_args(), "--summary", str(summary), "--quiet")
    assert_clean(run, (1, 2))
    if run.returncode == 2:
        assert_one_error(run, bad.name)
    else:
        (row,) = read_summary(summary)
        assert row["outcome"] == "error" and row["state"] == "failed" and row["last_error"]


def test_missing_path_is_a_usage_error(tmp_path) -> None:
    run = run_cli(str(tmp_path / "nowhere" / "видео.mp4"), *model_args())
    assert_clean(run, 2)
    assert_one_error(run, "no such file", "видео.mp4")


def test_unicode_video_path_is_screened(tmp_path, clip) -> None:
    target = tmp_path / "клип 顔.mp4"
    target.write_bytes(clip.read_bytes())
    summary = tmp_path / "summary.csv"
    run = run_cli(str(target), *model_args(), "--summary", str(summary), "--quiet")
    assert_clean(run, (0, 3, 4))
    (row,) = read_summary(summary)
    assert row["stream"] == target.name and int(row["processed"]) == 40


@pytest.mark.parametrize("args", [
    ["--detect-every", "0"], ["--hysteresis", "0.7"], ["--max-batch", "0"],
    ["--metrics-port", "70000"], ["--give-up-after", "-1"], ["--confirm-score", "2"],
])
def test_out_of_range_options_are_usage_errors(args) -> None:
    run = run_cli(str(ASTRONAUT), *args)
    assert_clean(run, 2)
    assert args[0] in run.stderr


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_dead_camera_gives_up(tmp_path, scheme) -> None:
    """Nothing listens on the port: ``--give-up-after 2`` ends the run with exit 1 within a
    few seconds instead of retrying forever; the summary says why."""
    url = f"{scheme}://127.0.0.1:{free_port()}/stream"
    summary = tmp_path / "summary.csv"
    t0 = time.monotonic()
    run = run_cli(url, *model_args(), "--give-up-after", "2", "--summary", str(summary),
                  "--quiet", timeout=60)
    assert_clean(run, 1)
    assert time.monotonic() - t0 < 30
    (row,) = read_summary(summary)
    assert row["outcome"] == "error" and row["state"] == "failed"
    assert row["last_error"].startswith("giving up on"), row["last_error"]
    assert int(row["reconnects"]) >= 1


def test_file_and_dead_camera_end_with_the_right_code(tmp_path) -> None:
    """A finished file plus a camera that gave up: the run ends, exit 1 (the camera failed),
    or 3 when the file is fake (a fake is never hidden by an error)."""
    url = f"rtsp://127.0.0.1:{free_port()}/cam"
    summary = tmp_path / "summary.csv"
    run = run_cli(str(ASTRONAUT), url, *model_args(), "--give-up-after", "1.5", "--json",
                  "--summary", str(summary), timeout=60)
    file_row, cam_row = read_summary(summary)
    assert cam_row["outcome"] == "error" and file_row["state"] == "finished"
    assert_clean(run, 3 if file_row["outcome"] == "fake" else 1)
    assert json.loads(run.stdout)["exit_code"] == run.returncode


def test_fake_file_and_dead_camera_exit_3(tmp_path) -> None:
    clip = SHARED_DATA / "videos" / "ffpp-c23" / "fake-deepfakes" / "519_515.mp4"
    if not clip.is_file():
        pytest.skip(f"shared data not present: {clip}")
    url = f"http://127.0.0.1:{free_port()}/cam"
    summary = tmp_path / "summary.csv"
    run = run_cli(str(clip), url, *model_args(), "--give-up-after", "1.5", "--max-frames", "24",
                  "--summary", str(summary), "--quiet", timeout=90)
    file_row, cam_row = read_summary(summary)
    assert cam_row["outcome"] == "error"
    if file_row["outcome"] != "fake":
        pytest.skip(f"the shipped model does not call {clip.name} fake in 24 frames")
    assert_clean(run, 3)


def test_live_source_gives_up_on_time() -> None:
    """The engine API under the option: a backoff of up to 30 s is cut short to give up on
    time, and the source ends as failed (so a run can end)."""
    from engine.errors import UsageError
    from engine.sources import open_source

    with pytest.raises(UsageError):
        open_source("rtsp://127.0.0.1:1/x", give_up_after=0)
    source = open_source(f"rtsp://127.0.0.1:{free_port()}/x", give_up_after=1.0,
                         open_timeout=1, backoff_base=5.0)
    t0 = time.monotonic()
    source.start()
    try:
        while not source.finished and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        stats = source.stats
    finally:
        source.stop()
    assert stats.state == "failed" and stats.last_error.startswith("giving up on")
    assert time.monotonic() - t0 < 4  # not the 5 s backoff, let alone forever
