"""MQTT alerts against a real Mosquitto broker on loopback, killed and restarted mid-run."""

from __future__ import annotations

import json
import time

import pytest

from engine.alerts import Alert, Outbox
from engine.alerts.mqtt import MqttTransport, parse_mqtt_url
from engine.errors import UsageError
from tests.engine.alerts.servers import Mosquitto, Subscriber, wait_for

pytest.importorskip("paho.mqtt.client")


def verdict(i: int, v: str = "fake") -> Alert:
    return Alert("verdict", "cam one/a", {"type": "verdict", "stream": "cam one/a",
                                         "verdict": v, "i": i})


def test_url_and_credentials(monkeypatch) -> None:
    monkeypatch.setenv("DEEPSCREEN_MQTT_USERNAME", "alice")
    monkeypatch.setenv("DEEPSCREEN_MQTT_PASSWORD", "s3cret")
    cfg = parse_mqtt_url("mqtt://broker.lan/site/a")
    assert (cfg["host"], cfg["port"], cfg["prefix"]) == ("broker.lan", 1883, "site/a")
    assert (cfg["username"], cfg["password"]) == ("alice", "s3cret")
    assert parse_mqtt_url("mqtts://b")["port"] == 8883
    assert parse_mqtt_url("mqtt://b:1")["prefix"] == "deepscreen"
    for bad in ("http://b", "mqtt://", "mqtt://b/x/#"):
        with pytest.raises(UsageError):
            parse_mqtt_url(bad)


def test_password_file(monkeypatch, tmp_path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-a-file\n")
    monkeypatch.delenv("DEEPSCREEN_MQTT_PASSWORD", raising=False)
    monkeypatch.setenv("DEEPSCREEN_MQTT_PASSWORD_FILE", str(secret))
    assert parse_mqtt_url("mqtt://b")["password"] == "from-a-file"


def test_topics_payloads_and_discovery(broker) -> None:
    sub = Subscriber(broker.port, "#")
    t = MqttTransport(broker.url + "/ds", ha_discovery=True, client_id="ds-test-1")
    box = Outbox(t)
    t.open(["cam one/a"])
    assert wait_for(lambda: t.connected)
    box.put(verdict(1))
    box.put(Alert("fake_track", "cam one/a", {"type": "fake_track", "track": 3},
                  snapshot=b"\xff\xd8jpeg"))
    box.put(Alert("state", "cam one/a", {"type": "state", "verdict": "fake", "p_fake": 0.9}))
    assert wait_for(lambda: box.counts()["sent"] == 3)
    assert wait_for(lambda: "ds/cam_one_a/state" in sub.topics())
    topics = sub.topics()
    assert "ds/available" in topics
    assert topics.count("ds/events") == 2
    assert "ds/cam_one_a/verdict" in topics and "ds/cam_one_a/snapshot" in topics
    events = sub.json("ds/events")
    assert [e["type"] for e in events] == ["verdict", "fake_track"]
    with sub.lock:
        by_topic = {tp: (p, r) for tp, p, r in sub.messages}
    assert by_topic["ds/cam_one_a/verdict"][0] == b"fake"  # plain text
    assert by_topic["ds/cam_one_a/snapshot"][0].startswith(b"\xff\xd8")
    late = Subscriber(broker.port, "ds/#")  # joins later: gets the retained topics only
    assert wait_for(lambda: len(late.topics()) >= 4)
    with late.lock:
        retained = {tp for tp, _, r in late.messages if r}
    assert retained == {"ds/available", "ds/cam_one_a/verdict", "ds/cam_one_a/snapshot",
                        "ds/cam_one_a/state"}
    late.close()
    assert json.loads(by_topic["ds/cam_one_a/state"][0])["p_fake"] == 0.9
    disc = [tp for tp in topics if tp.startswith("homeassistant/")]
    assert {d.split("/")[1] for d in disc} == {"binary_sensor", "sensor", "camera"}
    cfg = json.loads(by_topic[next(d for d in disc if d.startswith("homeassistant/binary"))][0])
    assert cfg["state_topic"] == "ds/cam_one_a/state"
    assert cfg["availability_topic"] == "ds/available"
    final = box.close()
    assert final == {"produced": 3, "sent": 3, "dropped": 0, "pending": 0}
    assert wait_for(lambda: sub.messages[-1][:2] == ("ds/available", b"offline"))
    sub.close()


def test_broker_killed_and_restarted(tmp_path) -> None:
    """Alerts keep being produced while the broker is away; the client reconnects by itself;
    every alert is sent or counted as dropped."""
    broker = Mosquitto(tmp_path).start()
    try:
        t = MqttTransport(broker.url + "/ds", ack_timeout_s=1.0, client_id="ds-test-2")
        box = Outbox(t, capacity=5, drain_s=10.0)
        assert wait_for(lambda: t.connected)
        for i in range(3):
            box.put(verdict(i))
        assert wait_for(lambda: box.counts()["sent"] == 3)
        broker.kill()
        assert wait_for(lambda: not t.connected)
        for i in range(3, 20):  # the producer never blocks while the broker is down
            t0 = time.monotonic()
            box.put(verdict(i))
            assert time.monotonic() - t0 < 0.1
        mid = box.counts()
        assert mid["dropped"] >= 20 - 3 - 5 - 1  # capacity 5 (+1 in flight) survive the outage
        broker.start()
        sub = Subscriber(broker.port, "ds/events")
        assert wait_for(lambda: t.connected, timeout=40)  # paho's back-off: 1 s doubling
        assert t.connects >= 2
        box.put(verdict(100, "real"))
        assert wait_for(lambda: box.counts()["pending"] == 0, timeout=20)
        final = box.close()
        assert final["sent"] + final["dropped"] == final["produced"] == 21
        assert final["sent"] >= 4
        assert wait_for(lambda: any(e["i"] == 100 for e in sub.json("ds/events")))
        sub.close()
    finally:
        broker.kill()
