"""Real servers on 127.0.0.1 for the live-source tests: GStreamer RTSP and a small HTTP one."""

from __future__ import annotations

import http.server
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = Path("/usr/bin/python3")
_PROBE = (
    "import gi\n"
    "gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0')\n"
    "from gi.repository import Gst, GstRtspServer\n"
    "Gst.init(None)\n"
    "missing = [e for e in ('qtdemux', 'h264parse', 'rtph264pay', 'appsrc', 'appsink')\n"
    "           if Gst.ElementFactory.find(e) is None]\n"
    "print(','.join(missing))\n"
)
_rtsp_ok: str | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_rtsp_server() -> None:
    """Skip unless /usr/bin/python3 has PyGObject, the RTSP server typelib and the plugins."""
    global _rtsp_ok
    if _rtsp_ok is None:
        if not SYSTEM_PYTHON.exists():
            _rtsp_ok = "no /usr/bin/python3"
        else:
            out = subprocess.run([str(SYSTEM_PYTHON), "-c", _PROBE], capture_output=True,
                                 text=True, timeout=30)
            if out.returncode != 0:
                _rtsp_ok = "GStreamer RTSP server not importable: " + out.stderr.strip()[-200:]
            elif out.stdout.strip():
                _rtsp_ok = "GStreamer plugins missing: " + out.stdout.strip()
            else:
                _rtsp_ok = ""
    if _rtsp_ok:
        pytest.skip(_rtsp_ok)


class RtspServer:
    """tests/engine/sources/rtsp_server.py as a subprocess; can be killed, frozen and restarted."""

    def __init__(self, clip: Path, port: int | None = None, user: str | None = None,
                 password: str | None = None):
        self.clip = clip
        self.port = port or free_port()
        self.user, self.password = user, password
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/stream"

    def start(self, timeout: float = 20.0) -> RtspServer:
        cmd = [str(SYSTEM_PYTHON), str(HERE / "rtsp_server.py"), "--port", str(self.port),
               "--file", str(self.clip)]
        if self.user:
            cmd += ["--user", self.user, "--password", self.password or ""]
        deadline = time.monotonic() + timeout
        while True:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True)
            line = self.proc.stdout.readline() if self.proc.stdout else ""
            if line.strip() == "READY":
                return self
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.proc.wait(5)
            # The port may still be held for a moment after a kill: retry until the deadline.
            if "cannot listen" not in err or time.monotonic() > deadline:
                raise RuntimeError(f"RTSP server did not start: {err.strip()[-300:]}")
            time.sleep(0.3)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def freeze(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)


def mjpeg_frames(count: int = 25, size: tuple[int, int] = (96, 64)) -> list[bytes]:
    """JPEG frames of a moving gradient, for the MJPEG-over-HTTP camera."""
    w, h = size
    frames = []
    for i in range(count):
        x = np.linspace(0, 255, w, dtype=np.float32)
        img = np.tile(((x + 10 * i) % 256).astype(np.uint8), (h, 1))
        ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
        assert ok
        frames.append(jpg.tobytes())
    return frames


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "TestCam/1.0"
    files: dict[str, bytes] = {}
    jpegs: list[bytes] = []
    fps = 25.0

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        path = self.path.split("?")[0]
        if path == "/mjpeg":
            self._mjpeg()
        elif path in self.files:
            self._file(self.files[path])
        else:
            self.send_error(404)

    def _file(self, body: bytes) -> None:
        # Range support: FFmpeg seeks to an mp4's index when it sits at the end of the file.
        match = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        start, end = 0, len(body) - 1
        if match:
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else end
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        try:
            self.wfile.write(body[start : end + 1])
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _mjpeg(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        i = 0
        try:
            while not getattr(self.server, "closing", False):
                jpg = self.jpegs[i % len(self.jpegs)]
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n")
                self.wfile.write(f"Content-Length: {len(jpg)}\r\n\r\n".encode() + jpg + b"\r\n")
                i += 1
                time.sleep(1.0 / self.fps)
        except (BrokenPipeError, ConnectionResetError, ValueError):
            pass


class HttpServer:
    """A threaded HTTP server on 127.0.0.1: ``/mjpeg`` (endless camera) and static files."""

    def __init__(self, files: dict[str, bytes] | None = None, port: int | None = None):
        self.port = port or free_port()
        handler = type("Handler", (_Handler,), {"files": files or {}, "jpegs": mjpeg_frames()})
        self._handler = handler
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> HttpServer:
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), self._handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.closing = True  # type: ignore[attr-defined]
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(5)  # type: ignore[union-attr]
            self._httpd = None
