"""The page's routes on the metrics server, fed by a LiveBoard (no pipeline, no browser)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

from engine.judge.records import StreamSummary
from engine.judge.vote import VerdictEvent
from engine.live import LiveBoard
from engine.metrics import MetricsServer, Registry
from engine.sinks.base import FrameView, TrackView
from engine.web import WebRoutes, is_loopback, parse_bind


@pytest.fixture
def served():
    board = LiveBoard(crop_every_s=0.0, sample_every_s=0.0)
    board.open(["cam/1"])
    image = np.full((240, 320, 3), 128, np.uint8)
    board.on_frame(FrameView("cam/1", 0, 5, 0.2, image,
                             (TrackView(7, (100, 60, 180, 160), 0.9, "fake"),)))
    board.on_prediction("cam/1", 7, 5, 0.2, 0.9)
    board.on_event(VerdictEvent("cam/1", None, 0.2, "fake", 0.88, 8, "confident"))
    board.on_tick([StreamSummary("cam/1", state="streaming", processed=5, verdict="fake",
                                 p_fake=0.88)])
    routes = WebRoutes(board)
    server = MetricsServer(Registry(), port=0, routes=routes).start()
    yield board, f"http://127.0.0.1:{server.port}"
    routes.close()
    server.stop()


def get(url: str):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.headers, r.read()


def test_page_assets_state_and_crop(served) -> None:
    board, base = served
    status, headers, body = get(base + "/")
    assert status == 200 and b'src="app.js"' in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for asset in ("/app.js", "/style.css"):
        assert get(base + asset)[0] == 200
    assert b"http" not in get(base + "/app.js")[2]  # nothing loaded from elsewhere
    state = json.loads(get(base + "/api/state")[2])
    s = state["streams"][0]
    assert (s["stream"], s["verdict"], s["p_fake"]) == ("cam/1", "fake", 0.88)
    assert s["tracks"][0]["track"] == 7 and s["tracks"][0]["crop"] == 1
    assert s["history"][-1][1:] == [0.88, 0.9]
    status, headers, jpeg = get(base + "/api/crop?stream=cam%2F1&track=7")
    assert headers["Content-Type"] == "image/jpeg" and jpeg[:2] == b"\xff\xd8"
    with pytest.raises(urllib.error.HTTPError) as err:
        get(base + "/api/crop?stream=cam%2F1&track=99")
    assert err.value.code == 404
    assert get(base + "/metrics")[0] == 200  # the metrics server still serves its own routes


def test_events_stream_pushes_the_snapshot(served) -> None:
    board, base = served
    with urllib.request.urlopen(base + "/api/events", timeout=5) as r:
        assert r.headers["Content-Type"] == "text/event-stream"
        line = r.readline()
        assert line.startswith(b"data: ")
        assert json.loads(line[6:])["streams"][0]["verdict"] == "fake"
        r.readline()
        board.on_event(VerdictEvent("cam/1", None, 0.4, "real", 0.2, 9, "confident"))
        line = r.readline()
        assert json.loads(line[6:])["streams"][0]["verdict"] == "real"


def test_bind_rules() -> None:
    assert parse_bind("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_bind("8080") == ("127.0.0.1", 8080)
    assert parse_bind("[::1]:81") == ("::1", 81)
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_cli_refuses_a_public_bind_without_the_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deepscreen_cli.app", "screen", "nothing.mp4", "--web",
         "0.0.0.0:0"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "--web-public" in result.stderr
