"""Screen and window sources (issue 33) against a real X server: Xvfb, with ffplay showing a
real FF++ clip in a titled window, grabbed through FFmpeg's x11grab, screened end to end by the
CLI. The test skips, naming what is missing, without Xvfb, ffmpeg/ffplay or xwininfo (.ci/run
installs them: xvfb, ffmpeg, x11-utils)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import UsageError
from tests.shared_data import shared_path

TOOLS = ("Xvfb", "ffmpeg", "ffplay", "xwininfo")
TITLE = "deepscreen call window"


def _need_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (apt install xvfb ffmpeg x11-utils)")


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """A private Xvfb server; -displayfd picks a free display number and reports it."""
    _need_tools()
    proc = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1024x768x24",
                             "-nolisten", "tcp"], stdout=subprocess.PIPE, text=True)
    number = proc.stdout.readline().strip()  # type: ignore[union-attr]
    assert number.isdigit(), "Xvfb did not report a display"
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=10)


def _open_window(display: str, clip: Path, title: str = TITLE) -> subprocess.Popen:
    env = {**os.environ, "DISPLAY": display, "SDL_AUDIODRIVER": "dummy"}
    proc = subprocess.Popen(["ffplay", "-hide_banner", "-loglevel", "error", "-an", "-loop", "0",
                             "-window_title", title, "-x", "480", "-y", "360", str(clip)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 40  # a loaded 2-core box
    while time.monotonic() < deadline:  # until the window is mapped
        out = subprocess.run(["xwininfo", "-name", title], env=env, capture_output=True)
        if out.returncode == 0 and b"IsViewable" in out.stdout:
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    err = proc.communicate(timeout=10)[1].decode(errors="replace")[-1000:]
    pytest.fail(f"ffplay's window {title!r} never appeared on {display}: {err}")


@pytest.fixture()
def window(display: str) -> Iterator[subprocess.Popen]:
    clip = shared_path("videos", "ffpp-c23", "real", "004.mp4")
    proc = _open_window(display, clip)
    yield proc
    proc.kill()
    proc.wait(timeout=10)


def test_cli_screens_a_real_window_end_to_end(display: str, window, tmp_path: Path) -> None:
    """`deepscreen screen window://TITLE`: a real call-like window (a real FF++ face clip)
    is grabbed, faces are found and tracked, and the stream is decided."""
    events = tmp_path / "events.jsonl"
    env = {**os.environ, "DISPLAY": display}
    out = subprocess.run(
        [sys.executable, "-m", "deepscreen_cli.app", "screen", f"window://{TITLE}",
         "--duration", "12", "--json", "--quiet", "--events", str(events)],
        capture_output=True, text=True, env=env, timeout=240,
    )
    assert out.returncode in (0, 3, 4), out.stderr[-2000:]
    stream = json.loads(out.stdout)["streams"][0]
    assert stream["stream"] == f"window://{TITLE}" and stream["live"] is True
    assert stream["read"] >= 30, stream  # 12 s at 10 fps, less start-up
    assert stream["read"] == stream["processed"] + stream["dropped"]
    assert stream["detections"] > 0 and stream["classified"] > 0, stream
    assert stream["errors"] == 0 and stream["reconnects"] == 0
    assert stream["verdict"] in ("real", "fake", "uncertain")
    assert events.read_text().strip(), "no verdict event written"


def test_region_grab_has_the_region_size(display: str, window) -> None:
    from engine.sources.spec import open_source

    source = open_source(f"screen://{display}+100,50,320x240", fps=15)
    source.start()
    frames = []
    deadline = time.monotonic() + 10
    while len(frames) < 5 and time.monotonic() < deadline:
        frame = source.get(1.0)
        if frame is not None:
            frames.append(frame)
    source.stop()
    assert len(frames) == 5
    assert {f.image.shape for f in frames} == {(240, 320, 3)}
    stats = source.stats
    assert stats.read == stats.delivered + stats.dropped


def test_closed_window_reconnects_and_resumes(display: str, monkeypatch) -> None:
    """The call window closes (errors, "reconnecting"), reopens (a reconnect, frames again):
    the same accounting as a dropped RTSP camera."""
    from engine.sources.live import Backoff
    from engine.sources.screen import ScreenSource

    clip = shared_path("videos", "ffpp-c23", "real", "004.mp4")
    title = "deepscreen reopened window"
    first = _open_window(display, clip, title)
    monkeypatch.setenv("DISPLAY", display)
    source = ScreenSource("window", title, "call", fps=10, read_timeout=1.0, open_timeout=3.0,
                          backoff=Backoff(base_s=0.2, max_s=0.5, jitter=0.0))
    source.start()
    try:
        assert source.get(10.0) is not None
        first.kill()
        first.wait(timeout=10)
        deadline = time.monotonic() + 15
        while source.stats.errors == 0 and time.monotonic() < deadline:
            source.get(0.2)
        assert source.stats.errors >= 1, source.stats
        assert "call" in source.stats.last_error
        second = _open_window(display, clip, title)
        try:
            read_before = source.stats.read
            deadline = time.monotonic() + 20
            while source.stats.read <= read_before + 3 and time.monotonic() < deadline:
                source.get(0.5)
            stats = source.stats
            assert stats.read > read_before + 3, stats
            assert stats.reconnects >= 1 and stats.state == "streaming"
        finally:
            second.kill()
            second.wait(timeout=10)
    finally:
        source.stop()
    stats = source.stats
    assert stats.read == stats.delivered + stats.dropped


def test_missing_window_gives_up_after_max_retries(display: str, monkeypatch) -> None:
    from engine.sources.live import Backoff
    from engine.sources.screen import ScreenSource

    monkeypatch.setenv("DISPLAY", display)
    source = ScreenSource("window", "no such meeting", "gone", max_retries=1,
                          backoff=Backoff(base_s=0.05, max_s=0.1, jitter=0.0))
    source.start()
    deadline = time.monotonic() + 20
    while source.stats.state != "failed" and time.monotonic() < deadline:
        time.sleep(0.1)
    source.stop()
    stats = source.stats
    assert stats.state == "failed" and stats.read == 0
    assert "giving up on gone after 2 failed attempts" in stats.last_error
    assert "no such meeting" in stats.last_error or stats.errors >= 2


def test_bad_specs_are_usage_errors() -> None:
    from engine.sources.screen import parse_spec

    with pytest.raises(UsageError, match="window title"):
        parse_spec("window://")
    with pytest.raises(UsageError, match="bad screen region"):
        parse_spec("screen://:0+10")
    assert parse_spec("window://Zoom%20Meeting") == ("window", "Zoom Meeting", "")
    assert parse_spec("screen://:99+0,0,640x480")[1] == ":99+0,0,640x480"
