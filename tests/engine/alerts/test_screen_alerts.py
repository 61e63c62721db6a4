"""End to end: a real `deepscreen screen` on a real clip, alerting a real Mosquitto broker and a
real HTTP receiver; the broker is killed and restarted mid-run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request

import pytest

from tests.engine.alerts.servers import Subscriber, free_port, wait_for
from tests.shared_data import shared_path

pytestmark = pytest.mark.slow


def scrape(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'(deepscreen_(?:alerts_\w+|frames_processed_total))\{(?:sink|stream)='
                     r'"([^"]+)"\} (\S+)', line)
        if m:
            out[f"{m[1]}:{m[2]}"] = float(m[3])
    return out


def check_invariant(m: dict[str, float], sink: str) -> None:
    produced = m[f"deepscreen_alerts_produced_total:{sink}"]
    accounted = (m[f"deepscreen_alerts_sent_total:{sink}"]
                 + m[f"deepscreen_alerts_dropped_total:{sink}"]
                 + m[f"deepscreen_alerts_pending:{sink}"])
    # one scrape reads each outbox's counts at once, so this holds exactly
    assert accounted == produced, m


def test_screen_survives_a_broker_restart(broker, receiver, tmp_path) -> None:
    clip = shared_path("videos", "ffpp-c23", "fake-deepfakes", "519_515.mp4")
    sub = Subscriber(broker.port, "ds/#")
    mport = free_port()
    env = {**os.environ, "DEEPSCREEN_WEBHOOK_TOKEN": "tok-123", "DEEPSCREEN_NODE": "w1"}
    cmd = [sys.executable, "-m", "deepscreen_cli.app", "-v", "screen", str(clip), "--realtime",
           "--loop", "--duration", "30", "-q", "--metrics-port", str(mport),
           "--mqtt", broker.url + "/ds", "--webhook", receiver.url, "--state-every", "0.5"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        def sent(sink="mqtt"):
            try:
                return scrape(mport).get(f"deepscreen_alerts_sent_total:{sink}", 0)
            except OSError:
                return 0

        assert wait_for(lambda: sent() >= 3, timeout=60), "no alert reached the broker"
        before = scrape(mport)
        broker.kill()
        frames = "deepscreen_frames_processed_total:519_515.mp4"
        # Screening goes on without the broker: 30 more frames (1.2 s of video at --realtime)
        # while it is down. Waited for, not timed: a loaded CI box may run below real time.
        assert wait_for(lambda: scrape(mport)[frames] > before[frames] + 30, timeout=30), \
            "screening stalled while the broker was down"
        during = scrape(mport)
        check_invariant(during, "mqtt")
        assert during["deepscreen_alerts_connected:mqtt"] == 0
        broker.start()
        assert wait_for(lambda: scrape(mport)["deepscreen_alerts_connected:mqtt"] == 1,
                        timeout=40), "no reconnection"
        n = len(sub.topics())
        assert wait_for(lambda: len(sub.topics()) > n + 2, timeout=20)  # alerts flow again
        after = scrape(mport)
        check_invariant(after, "mqtt")
        check_invariant(after, "webhook")
        assert after[frames] > during[frames]
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
        sub.close()
    assert proc.returncode in (0, 3, 4), err
    totals = re.findall(r"(\w+) alerts: produced (\d+), sent (\d+), dropped (\d+)", err)
    assert {t[0] for t in totals} == {"mqtt", "webhook"}, err
    for _, produced, sent_, dropped in totals:
        assert int(sent_) + int(dropped) == int(produced) > 0
    assert "tok-123" not in err
    # the receiver got the documented payloads, with the token
    kinds = {b["type"] for b in receiver.bodies}
    assert {"state", "verdict"} <= kinds
    state = next(b for b in receiver.bodies if b["type"] == "state")
    for key in ("stream", "node", "ts", "verdict", "p_fake", "fps", "processed", "dropped",
                "tracks"):
        assert key in state
    assert state["node"] == "w1" and state["stream"] == "519_515.mp4"
    assert receiver.headers[0]["Authorization"] == "Bearer tok-123"
    final = [b for b in receiver.bodies if b["type"] == "verdict" and b.get("final")]
    assert final and final[-1]["verdict"] in ("real", "fake", "uncertain")
