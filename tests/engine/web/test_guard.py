"""The page and /metrics against hostile clients: foreign Host headers, idle and half-sent
connections, floods, clients that hang up, missing tokens. Real sockets on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time

import numpy as np
import pytest

from engine.judge.records import FrameView, StreamSummary, TrackView, VerdictEvent
from engine.live import LiveBoard
from engine.metrics import MetricsServer, Registry
from engine.web import WebRoutes


def make_server(health=None, **kwargs) -> tuple[MetricsServer, WebRoutes]:
    board = LiveBoard(crop_every_s=0.0, sample_every_s=0.0)
    board.open(["cam"])
    image = np.full((240, 320, 3), 128, np.uint8)
    board.on_frame(FrameView("cam", 0, 1, 0.1, image, (TrackView(3, (100, 60, 180, 160), 0.9,
                                                                 "fake"),)))
    board.on_prediction("cam", 3, 1, 0.1, 0.9)
    board.on_event(VerdictEvent("cam", None, 0.1, "fake", 0.88, 8, "confident"))
    board.on_tick([StreamSummary("cam", state="streaming", processed=1, verdict="fake",
                                 p_fake=0.88)])
    routes = WebRoutes(board)
    server = MetricsServer(Registry(), health, port=0, routes=routes, **kwargs).start()
    return server, routes


@pytest.fixture
def served():
    server, routes = make_server(request_timeout_s=0.5, idle_timeout_s=1.0, max_connections=4)
    yield server
    routes.close()
    server.stop()


def request(port: int, path: str, host: str | None = None,
            headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.putrequest("GET", path, skip_host=host is not None)
    if host is not None:
        conn.putheader("Host", host)
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    conn.endheaders()
    resp = conn.getresponse()
    out = resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    conn.close()
    return out


def test_foreign_host_headers_are_refused_on_the_page_only(served) -> None:
    port = served.port
    attacker = f"attacker.example:{port}"
    for path in ("/", "/api/state", "/api/crop?stream=cam&track=3", "/api/events"):
        assert request(port, path, attacker)[0] == 421, path
    # Probes and scrapers use the pod IP or a service name: they keep working.
    assert request(port, "/metrics", attacker)[0] == 200
    assert request(port, "/healthz", "deepscreen-worker-0.svc:9108")[0] == 200
    for good in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}",
                 f"192.0.2.5:{port}"):
        assert request(port, "/api/state", good)[0] == 200, good
    assert request(port, "/api/crop?stream=cam&track=3", f"127.0.0.1:{port}")[0] == 200


def test_names_given_by_the_operator_are_allowed() -> None:
    server, routes = make_server(allowed_hosts=["screen.lab.example"])
    try:
        assert request(server.port, "/api/state", "screen.lab.example:80")[0] == 200
        assert request(server.port, "/api/state", "other.example")[0] == 421
    finally:
        routes.close()
        server.stop()


def test_idle_and_half_sent_connections_are_closed(served) -> None:
    t0 = time.monotonic()
    idle = socket.create_connection(("127.0.0.1", served.port))
    idle.settimeout(5)
    assert idle.recv(100) == b""  # closed by the server, nothing sent
    slow = socket.create_connection(("127.0.0.1", served.port))
    slow.settimeout(0.1)
    closed = False
    for ch in b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100:
        try:  # one byte every 50 ms never trips a per-read timeout, only the deadline
            slow.send(bytes([ch]))
            time.sleep(0.05)
            if slow.recv(100) == b"":
                closed = True
                break
        except TimeoutError:
            continue
        except OSError:
            closed = True
            break
    assert closed and time.monotonic() - t0 < 5
    idle.close()
    slow.close()


def test_connections_are_bounded(served) -> None:
    threads_before = threading.active_count()
    held = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(4)]
    time.sleep(0.1)
    extra = socket.create_connection(("127.0.0.1", served.port))
    extra.settimeout(5)
    assert extra.recv(200).startswith(b"HTTP/1.1 503")
    assert threading.active_count() <= threads_before + 4
    for s in held:
        s.close()
    extra.close()
    time.sleep(1.0)  # the held ones time out and free their slots
    assert request(served.port, "/metrics")[0] == 200


def test_clients_that_hang_up_leave_no_traceback(served, capfd) -> None:
    for _ in range(40):
        s = socket.create_connection(("127.0.0.1", served.port))
        s.sendall(f"GET /app.js HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n\r\n".encode())
        # RST instead of FIN: the server's write then fails with a reset or a broken pipe.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    time.sleep(0.5)
    assert request(served.port, "/metrics")[0] == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Reset" not in err


def test_a_token_guards_the_page_and_metrics_not_the_probes() -> None:
    server, routes = make_server(token="T0ken-xyz")
    port, host = server.port, f"127.0.0.1:{server.port}"
    try:
        assert request(port, "/metrics")[0] == 401
        assert request(port, "/api/state", host)[0] == 401
        assert request(port, "/", host)[0] == 401
        bearer = {"Authorization": "Bearer T0ken-xyz"}
        assert request(port, "/metrics", headers=bearer)[0] == 200
        assert request(port, "/metrics", headers={"Authorization": "Bearer wrong"})[0] == 401
        assert request(port, "/healthz")[0] == 200 and request(port, "/readyz")[0] == 200
        assert request(port, "/?token=wrong", host)[0] == 401
        code, headers, _ = request(port, "/?token=T0ken-xyz", host)
        assert code == 303 and headers["location"] == "/"
        cookie = headers["set-cookie"].split(";")[0]
        assert "HttpOnly" in headers["set-cookie"]
        assert request(port, "/api/state", host, {"Cookie": cookie})[0] == 200
        assert request(port, "/", host, {"Cookie": cookie})[0] == 200
    finally:
        routes.close()
        server.stop()


def test_health_is_degraded_while_a_stream_reconnects_and_not_ready() -> None:
    states = {"cam1": "reconnecting", "clip.mp4": "streaming"}
    server, routes = make_server(health=lambda: (True, {"streams": dict(states)}))
    try:
        code, _, body = request(server.port, "/healthz")
        health = json.loads(body)
        assert code == 200 and health["status"] == "degraded"
        assert health["degraded"] == ["cam1"]
        assert request(server.port, "/readyz")[0] == 503
        states["cam1"] = "streaming"
        code, _, body = request(server.port, "/healthz")
        assert code == 200 and json.loads(body)["status"] == "ok"
        assert request(server.port, "/readyz")[0] == 200
    finally:
        routes.close()
        server.stop()
