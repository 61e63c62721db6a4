"""Prometheus metrics (text exposition format 0.0.4, written by hand) and a tiny HTTP server.

No client library: the runtime stays numpy + OpenCV + ONNX Runtime. The server serves
``/metrics`` (the exposition) and ``/healthz`` (JSON; 200 while the pipeline runs, 503 when it
has stopped or failed) and binds to 127.0.0.1 unless told otherwise, because per-stream metrics
can describe what a camera sees.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

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
    """Serve ``/metrics`` and ``/healthz`` from a daemon thread.

    Args:
        registry: what ``/metrics`` renders.
        health: returns (healthy, details) for ``/healthz``.
        host: bind address; 127.0.0.1 keeps it off the network.
        port: TCP port; 0 asks the OS for a free one (see :attr:`port`).
        routes: serves any other GET path: called with the request handler and the path,
            returns True when it answered (the live web page, :mod:`engine.web`).
    """

    def __init__(
        self,
        registry: Registry,
        health: Callable[[], tuple[bool, dict]] | None = None,
        host: str = "127.0.0.1",
        port: int = 9108,
        routes: Callable[[BaseHTTPRequestHandler, str], bool] | None = None,
    ) -> None:
        self.registry = registry
        self.routes = routes
        self.health = health or (lambda: (True, {}))
        handler = self._handler_class()
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
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

    def _handler_class(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    body = owner.registry.render().encode()
                    self._send(200, CONTENT_TYPE, body)
                elif path == "/healthz":
                    ok, details = owner.health()
                    body = json.dumps({"status": "ok" if ok else "down", **details}).encode()
                    self._send(200 if ok else 503, "application/json", body)
                elif owner.routes is not None and owner.routes(self, path):
                    return
                else:
                    self._send(404, "text/plain", b"not found\n")

            def _send(self, code: int, ctype: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet by design
                return

        return Handler
