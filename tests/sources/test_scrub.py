"""Credentials never survive scrubbing: names, messages and query strings."""

from __future__ import annotations

import pytest

from engine.sources import open_source, scrub_text, scrub_url


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("rtsp://admin:hunter2@cam.local:554/stream", "rtsp://cam.local:554/stream"),
        ("rtsp://admin@cam.local/stream", "rtsp://cam.local/stream"),
        ("rtsp://us%40er:p%3Ass@10.0.0.5/h264", "rtsp://10.0.0.5/h264"),
        ("rtsp://user:p@ss@10.0.0.5:8554/live", "rtsp://10.0.0.5:8554/live"),
        ("http://cam/video.mjpg?user=admin&password=hunter2&res=hd",
         "http://cam/video.mjpg?user=***&password=***&res=hd"),
        ("https://h.example/live.m3u8?token=abc.def&x=1", "https://h.example/live.m3u8?token=***&x=1"),
        ("rtsp://[::1]:8554/s", "rtsp://[::1]:8554/s"),
        ("/videos/clip.mp4", "/videos/clip.mp4"),
        ("0", "0"),
    ],
)
def test_scrub_url(url: str, clean: str) -> None:
    assert scrub_url(url) == clean


def test_scrub_text_inside_messages() -> None:
    msg = "open rtsp://admin:hunter2@cam.local:554/s failed; retry http://x/y?pwd=topsecret&a=b"
    out = scrub_text(msg)
    assert "hunter2" not in out and "topsecret" not in out and "admin" not in out
    assert "rtsp://cam.local:554/s" in out and "a=b" in out


def test_malformed_url_is_still_scrubbed() -> None:
    assert "hunter2" not in scrub_url("rtsp://admin:hunter2@[::1/broken")


def test_source_name_has_no_credentials() -> None:
    source = open_source("rtsp://admin:hunter2@cam.local:554/stream?token=zzz123")
    assert source.live and source.name == "rtsp://cam.local:554/stream?token=***"
    assert "hunter2" not in repr(source) and "zzz123" not in repr(source)
    source.stop()  # never started: stop is still safe
