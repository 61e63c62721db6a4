"""Prometheus metrics (text exposition format 0.0.4, written by hand) and a tiny HTTP server.

No client library: the runtime stays numpy + OpenCV + ONNX Runtime. The server serves
``/metrics`` (the exposition), ``/healthz`` and ``/readyz`` (JSON, see :class:`MetricsServer`)
and binds to 127.0.0.1 unless told otherwise, because per-stream metrics can describe what a
camera sees; :mod:`engine.httpd` keeps hostile clients from exhausting it.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from engine.httpd import (
    TOKEN_COOKIE,
    GuardedHandler,
    GuardedServer,
    host_allowed,
    request_token,
    token_ok,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Source states that make /healthz "degraded" and /readyz 503 while the run goes on.
DEGRADED_STATES = frozenset({"reconnecting", "failed"})

# Seconds. Spans a fast GPU batch (sub-millisecond) to a slow CPU detector pass on 1080p.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(str(v))}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labelnames = tuple(labelnames)
        self._lock = threading.Lock()
        self._values: dict[tuple[str, ...], float] = {}

    def _key(self, labels: dict[str, str]) -> tuple[str, ...]:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def value(self, **labels: str) -> float:
        """Current value for one label set (0 when never set)."""
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        with self._lock:
            for key, val in sorted(self._values.items()):
                lines.append(f"{self.name}{_labels(self.labelnames, key)} {_fmt(val)}")
        return lines


class Counter(_Metric):
    """A monotonically increasing count."""

    kind = "counter"

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def set_total(self, total: float, **labels: str) -> None:
        """Mirror a cumulative count kept elsewhere (e.g. a source's frames read)."""
        key = self._key(labels)
        with self._lock:
            self._values[key] = max(self._values.get(key, 0.0), float(total))


class Gauge(_Metric):
    """A value that goes up and down."""

    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)


class Histogram(_Metric):
    """Cumulative-bucket histogram."""

    kind = "histogram"

    def __init__(
        self, name: str, help_text: str, labelnames: Sequence[str] = (), buckets=LATENCY_BUCKETS
    ) -> None:
        super().__init__(name, help_text, labelnames)
        self.buckets = tuple(sorted(float(b) for b in buckets))
        self._hist: dict[tuple[str, ...], list[float]] = {}  # bucket counts..., sum, count

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            h = self._hist.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, b in enumerate(self.buckets):
                if value <= b:
                    h[i] += 1
            h[-2] += value
            h[-1] += 1

    def count(self, **labels: str) -> int:
        with self._lock:
            h = self._hist.get(self._key(labels))
            return int(h[-1]) if h else 0

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self._lock:
            for key, h in sorted(self._hist.items()):
                for i, b in enumerate(self.buckets):
                    le = _labels(self.labelnames, key, f'le="{_fmt(b)}"')
                    lines.append(f"{self.name}_bucket{le} {_fmt(h[i])}")
                inf = _labels(self.labelnames, key, 'le="+Inf"')
                lines.append(f"{self.name}_bucket{inf} {_fmt(h[-1])}")
                lab = _labels(self.labelnames, key)
                lines.append(f"{self.name}_sum{lab} {_fmt(h[-2])}")
                lines.append(f"{self.name}_count{lab} {_fmt(h[-1])}")
        return lines


class Registry:
    """A set of metrics plus collectors that refresh mirrored values just before a scrape."""

    def __init__(self) -> None:
        self._metrics: list[_Metric] = []
        self._collectors: list[Callable[[], None]] = []

    def counter(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, help_text, labelnames))

    def gauge(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self._add(Gauge(name, help_text, labelnames))

    def histogram(
        self, name: str, help_text: str, labelnames: Sequence[str] = (), buckets=LATENCY_BUCKETS
    ) -> Histogram:
        return self._add(Histogram(name, help_text, labelnames, buckets))

    def add_collector(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` before every render (to copy counters kept by other objects)."""
        self._collectors.append(fn)

    def render(self) -> str:
        """The whole exposition, ending with a newline."""
        for fn in self._collectors:
            fn()
        lines: list[str] = []
        for m in self._metrics:
            lines.extend(m.render())
        return "\n".join(lines) + "\n"

    def _add(self, metric):
        if any(m.name == metric.name for m in self._metrics):
            raise ValueError(f"metric {metric.name} registered twice")
        self._metrics.append(metric)
        return metric


class MetricsServer:
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` (and the page's routes) from a thread.

    ``/healthz`` (liveness) answers 200 while the pipeline runs: ``"status": "ok"``, or
    ``"degraded"`` with the names of the streams that are reconnecting or failed and of the
    outputs given up after a failed write (``details["lost_outputs"]``, see
    :meth:`engine.sinks.guard.OutputFaults.health`; one dead camera or one full disk must not
    make an orchestrator restart the worker), and 503 ``"down"`` once it has
    stopped or failed. ``/readyz`` answers 503 while degraded too. Those two and ``/metrics``
    answer any Host header (probes and scrapers use the pod IP or a service name); the page's
    routes only a Host that :func:`engine.httpd.host_allowed` accepts (DNS rebinding). With a
    ``token``, ``/metrics`` and the page need it (``Authorization: Bearer``, or for a browser
    the cookie set by opening ``/?token=TOKEN`` once); the health answers stay open.

    Args:
        registry: what ``/metrics`` renders.
        health: returns (healthy, details) for ``/healthz``; ``details["streams"]`` maps
            stream names to source states, ``details["lost_outputs"]`` (optional) the outputs
            given up to their one-line reports.
        host: bind address; 127.0.0.1 keeps it off the network.
        port: TCP port; 0 asks the OS for a free one (see :attr:`port`).
        routes: serves any other GET path: called with the request handler and the path,
            returns True when it answered (the live web page, :mod:`engine.web`).
        allowed_hosts: host names the page answers to besides loopback names and IP
            literals (the bind host, when it is a name, is added).
        token: bearer token for ``/metrics`` and the page (None = open).
        max_connections, request_timeout_s, idle_timeout_s: see :class:`GuardedServer`.
    """

    def __init__(
        self,
        registry: Registry,
        health: Callable[[], tuple[bool, dict]] | None = None,
        host: str = "127.0.0.1",
        port: int = 9108,
        routes: Callable[[BaseHTTPRequestHandler, str], bool] | None = None,
        *,
        allowed_hosts: Sequence[str] = (),
        token: str | None = None,
        max_connections: int = 64,
        request_timeout_s: float = 10.0,
        idle_timeout_s: float = 30.0,
    ) -> None:
        self.registry = registry
        self.routes = routes
        self.health = health or (lambda: (True, {}))
        self.allowed_hosts = (*allowed_hosts, host)
        self.token = token or None
        self._server = GuardedServer(
            (host, port), self._handler_class(), max_connections=max_connections,
            request_timeout_s=request_timeout_s, idle_timeout_s=idle_timeout_s)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def health_answer(self) -> tuple[int, dict, bool]:
        """(HTTP status of /healthz, its JSON, ready) from the pipeline's health."""
        ok, details = self.health()
        streams = details.get("streams", {})
        troubled = sorted(n for n, state in streams.items() if state in DEGRADED_STATES)
        troubled += sorted(details.get("lost_outputs", {}))  # outputs given up mid-run
        if not ok:
            return 503, {"status": "down", **details}, False
        if troubled:
            return 200, {"status": "degraded", "degraded": troubled, **details}, False
        return 200, {"status": "ok", **details}, True

    def _handler_class(self):
        owner = self

        class Handler(GuardedHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path = self.path.split("?", 1)[0]
                if path in ("/healthz", "/readyz"):
                    code, body, ready = owner.health_answer()
                    if path == "/readyz":
                        code = 200 if ready else 503
                    self._send(code, "application/json", json.dumps(body).encode())
                    return
                if path == "/metrics":
                    if self._authorised():
                        self._send(200, CONTENT_TYPE, owner.registry.render().encode())
                    return
                if owner.routes is None:
                    self._send(404, "text/plain", b"not found\n")
                    return
                if not host_allowed(self.headers.get("Host"), owner.allowed_hosts):
                    # A page from another origin that resolved its name to us: refuse.
                    self._send(421, "text/plain", b"unknown Host header\n")
                    return
                if path == "/" and self._token_login():
                    return
                if self._authorised() and not owner.routes(self, path):
                    self._send(404, "text/plain", b"not found\n")

            def _authorised(self) -> bool:
                if token_ok(request_token(self), owner.token):
                    return True
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Bearer realm="deepscreen"')
                body = b"token required: Authorization: Bearer, or open /?token=TOKEN once\n"
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return False

            def _token_login(self) -> bool:
                """``/?token=T``: set the page's cookie and drop the token from the URL."""
                given = parse_qs(urlsplit(self.path).query).get("token", [None])[0]
                if given is None or owner.token is None:
                    return False
                if not token_ok(given, owner.token):
                    return not self._authorised()
                self.send_response(303)
                self.send_header("Location", "/")
                self.send_header("Set-Cookie", f"{TOKEN_COOKIE}={given}; Path=/; HttpOnly; "
                                 "SameSite=Strict")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True

            def _send(self, code: int, ctype: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
