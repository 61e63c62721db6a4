"""The live web page's routes, served by the metrics server (:class:`engine.metrics.MetricsServer`).

``/``             the page (static HTML + JS + CSS shipped in the package: no build step, no
                  CDN, works without a network)
``/api/state``    the board's snapshot as JSON (for polling and scripts)
``/api/events``   the same snapshot as server-sent events, pushed on every change
``/api/crop``     ``?stream=NAME&track=ID``: the track's latest face crop (JPEG)

The page shows faces: it is bound to loopback unless the operator says otherwise, answers only
Host headers that name this server, and can require a token (the checks live in
:class:`engine.metrics.MetricsServer`; docs/WEB.md explains the risks).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from engine.httpd import is_loopback
from engine.live.board import LiveBoard

__all__ = ["WebRoutes", "is_loopback", "parse_bind"]

STATIC = Path(__file__).resolve().parent / "static"
_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
# Everything comes from this server; nothing inline, nothing from elsewhere.
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; connect-src 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
HEARTBEAT_S = 15.0


class WebRoutes:
    """Answer the page's requests from a :class:`LiveBoard`; pass to ``MetricsServer(routes=)``.

    Args:
        board: the run's live board.
        push_every_s: longest wait between two server-sent events when nothing changed.
    """

    def __init__(self, board: LiveBoard, push_every_s: float = 1.0) -> None:
        self.board = board
        self.push_every_s = push_every_s
        self._stop = threading.Event()
        self._files = {path: ((STATIC / name).read_bytes(), ctype)
                       for path, (name, ctype) in _FILES.items()}

    def close(self) -> None:
        """End open event streams (before the server stops)."""
        self._stop.set()

    def __call__(self, handler: BaseHTTPRequestHandler, path: str) -> bool:
        if path in self._files:
            body, ctype = self._files[path]
            _send(handler, 200, ctype, body)
        elif path == "/api/state":
            _send(handler, 200, "application/json", json.dumps(self.board.snapshot()).encode())
        elif path == "/api/events":
            self._events(handler)
        elif path == "/api/crop":
            query = parse_qs(urlsplit(handler.path).query)
            try:
                track = int(query.get("track", [""])[0])
            except ValueError:
                track = -1
            jpeg = self.board.crop_jpeg(query.get("stream", [""])[0], track)
            if jpeg is None:
                _send(handler, 404, "text/plain", b"no crop\n")
            else:
                _send(handler, 200, "image/jpeg", jpeg)
        else:
            return False
        return True

    def _events(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        for key, value in _HEADERS.items():
            handler.send_header(key, value)
        handler.end_headers()
        version, idle = -1, 0.0
        try:
            while not self._stop.is_set():
                new = self.board.wait_change(version, self.push_every_s)
                if new != version:
                    version, idle = new, 0.0
                    data = json.dumps(self.board.snapshot(), separators=(",", ":"))
                    handler.wfile.write(f"data: {data}\n\n".encode())
                    handler.wfile.flush()
                else:
                    idle += self.push_every_s
                    if idle >= HEARTBEAT_S:  # keeps proxies from closing a quiet stream
                        idle = 0.0
                        handler.wfile.write(b": keep-alive\n\n")
                        handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            return  # the browser went away
        handler.close_connection = True


def _send(handler: BaseHTTPRequestHandler, code: int, ctype: str, body: bytes) -> None:
    handler.send_response(code)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(body)))
    for key, value in _HEADERS.items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


def parse_bind(spec: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``[v6]:PORT``, or a bare ``PORT`` meaning 127.0.0.1) -> (host, port)."""
    from engine.errors import UsageError

    host, sep, port = spec.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", spec
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise UsageError(f"--web takes HOST:PORT (e.g. 127.0.0.1:8080), got {spec!r}")
    return host, number
