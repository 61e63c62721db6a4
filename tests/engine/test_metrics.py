"""Prometheus exposition and the /metrics + /healthz server, scraped over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from engine.metrics import MetricsServer, Registry


def scrape(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


def test_exposition_format() -> None:
    r = Registry()
    c = r.counter("x_frames_total", "Frames.", ["stream"])
    g = r.gauge("x_up", "Up.")
    h = r.histogram("x_latency_seconds", "Latency.", ["stage"], buckets=(0.01, 0.1))
    c.inc(stream='cam "a"\\b')
    c.inc(2, stream='cam "a"\\b')
    g.set(1)
    for v in (0.005, 0.05, 0.5):
        h.observe(v, stage="detect")
    text = r.render()
    assert "# TYPE x_frames_total counter" in text
    assert 'x_frames_total{stream="cam \\"a\\"\\\\b"} 3' in text
    assert "x_up 1" in text
    assert 'x_latency_seconds_bucket{stage="detect",le="0.01"} 1' in text
    assert 'x_latency_seconds_bucket{stage="detect",le="0.1"} 2' in text
    assert 'x_latency_seconds_bucket{stage="detect",le="+Inf"} 3' in text
    assert 'x_latency_seconds_count{stage="detect"} 3' in text
    assert 'x_latency_seconds_sum{stage="detect"} 0.555' in text
    with pytest.raises(ValueError):
        c.inc(-1, stream="a")
    with pytest.raises(ValueError):
        c.inc(stream="a", extra="b")
    with pytest.raises(ValueError):
        r.gauge("x_up", "again")


def test_counter_mirror_never_goes_down() -> None:
    r = Registry()
    c = r.counter("y_total", "Y.", ["s"])
    c.set_total(5, s="a")
    c.set_total(3, s="a")
    assert c.value(s="a") == 5


def test_server_serves_metrics_and_health_on_loopback() -> None:
    r = Registry()
    g = r.gauge("z_streams", "Streams.")
    calls = []
    r.add_collector(lambda: (calls.append(1), g.set(len(calls))))
    healthy = {"ok": True}
    server = MetricsServer(r, lambda: (healthy["ok"], {"streams": {"cam": "streaming"}}),
                           port=0).start()
    try:
        assert server.host == "127.0.0.1"
        base = f"http://127.0.0.1:{server.port}"
        code, ctype, body = scrape(base + "/metrics")
        assert code == 200 and ctype.startswith("text/plain; version=0.0.4")
        assert "z_streams 1" in body  # the collector ran before rendering
        code, _, body = scrape(base + "/metrics")
        assert "z_streams 2" in body
        code, ctype, body = scrape(base + "/healthz")
        assert code == 200 and json.loads(body) == {"status": "ok",
                                                    "streams": {"cam": "streaming"}}
        healthy["ok"] = False
        code, _, body = scrape(base + "/healthz")
        assert code == 503 and json.loads(body)["status"] == "down"
        assert scrape(base + "/nope")[0] == 404
    finally:
        server.stop()
