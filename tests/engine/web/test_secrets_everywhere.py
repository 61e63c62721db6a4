"""A real `deepscreen screen` with credentialed camera URLs: no sink ever carries a secret.

Two dead cameras (nothing listens on their ports, so they keep reconnecting) and a real clip.
One camera is the DVR path-style form on the command line, the other comes from an
environment variable (``env:CAM2_URL``) with a raw ``#`` in its password. While the run goes
on, /metrics, /healthz, /readyz and /api/state are read; afterwards stdout, stderr (with -v
logging), the events JSONL, the summary CSV and the webhook bodies. Every event and alert
carries the model's SHA-256 and the threshold.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.engine.alerts.servers import Receiver, free_port, wait_for
from tests.shared_data import shared_path
from tests.shipped import shipped_model

pytestmark = pytest.mark.slow

SECRETS = ["Ds3cr3tD", "admin", "pa#ss9w", "ss9w", "viewer"]


def fetch(port: int, path: str) -> tuple[int, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_no_sink_carries_a_camera_secret(tmp_path) -> None:
    model = shipped_model()
    clip = shared_path("videos", "ffpp-c23", "real", "004.mp4")
    dead1, dead2, port = free_port(), free_port(), free_port()
    path_style = f"rtsp://127.0.0.1:{dead1}/user=admin&password=Ds3cr3tD&channel=1&stream=0.sdp"
    env = {**os.environ, "CAM2_URL": f"rtsp://viewer:pa#ss9w@127.0.0.1:{dead2}/stream1"}
    events, summary = tmp_path / "events.jsonl", tmp_path / "summary.csv"
    receiver = Receiver()
    cmd = [sys.executable, "-m", "deepscreen_cli.app", "-v", "screen", str(clip), path_style,
           "env:CAM2_URL", "--model", str(model), "--max-frames", "40", "--duration", "25",
           "--events", str(events), "--summary", str(summary), "--web", f"127.0.0.1:{port}",
           "--webhook", receiver.url, "--state-every", "1", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    served: dict[str, str] = {}
    try:
        def degraded() -> bool:
            try:
                code, body = fetch(port, "/healthz")
            except OSError:
                return False
            return json.loads(body).get("status") == "degraded"

        assert wait_for(degraded, timeout=60), "the dead cameras never showed in /healthz"
        time.sleep(1.5)  # a state alert and a few frames
        for path in ("/metrics", "/healthz", "/readyz", "/api/state", "/"):
            code, served[path] = fetch(port, path)
            assert code == (503 if path == "/readyz" else 200), (path, code)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        receiver.close()
    health = json.loads(served["/healthz"])
    assert health["status"] == "degraded" and len(health["degraded"]) == 2
    named = f"rtsp://127.0.0.1:{dead1}/user=***&password=***&channel=1&stream=0.sdp"
    assert named in health["degraded"]
    sinks = {"stdout": out, "stderr": err, "events": events.read_text(),
             "summary": summary.read_text(), "webhook": json.dumps(receiver.bodies), **served}
    for name, text in sinks.items():
        leaked = [s for s in SECRETS if s in text]
        assert not leaked, f"{name} carries {leaked}"
    assert "Traceback" not in err
    # Traceable: the model and threshold that decided are on every event and alert.
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert lines and all(e["model_sha256"] == digest for e in lines)
    assert all(isinstance(e["threshold"], float) for e in lines)
    assert receiver.bodies and all(b["model_sha256"] == digest for b in receiver.bodies)
    assert {"state", "verdict"} <= {b["type"] for b in receiver.bodies}
