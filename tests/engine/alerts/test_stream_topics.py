"""A stream's own MQTT topic (``alert_topic`` in a config file) and its own threshold in
every alert it raises."""

from __future__ import annotations

import pytest

from engine.alerts.alert import STATE, VERDICT, Alert


def test_alert_topic_replaces_the_stream_level() -> None:
    pytest.importorskip("paho.mqtt.client")
    from engine.alerts.mqtt import MqttTransport

    transport = MqttTransport("mqtt://127.0.0.1:9/deepscreen")  # never connects: not needed
    try:
        transport.stream_topics = {"lobby": "site-a/lobby"}
        verdict = transport.messages(Alert(VERDICT, "lobby", {"verdict": "fake"}))
        assert [t for t, _, _ in verdict] == ["deepscreen/events",
                                              "deepscreen/site-a/lobby/verdict"]
        state = transport.messages(Alert(STATE, "yard cam", {}))
        assert state[0][0] == "deepscreen/yard_cam/state"  # no alert_topic: the safe name
    finally:
        transport.client.loop_stop()


def test_each_stream_alert_carries_its_own_threshold() -> None:
    from engine.alerts.sink import AlertSink
    from engine.live import LiveBoard

    class Box:
        def __init__(self) -> None:
            self.alerts: list = []
            self.transport = None

        def put(self, alert) -> None:
            self.alerts.append(alert)

    box = Box()
    sink = AlertSink([box], LiveBoard(), state_every_s=0)
    sink.provenance = {"threshold": 0.5}
    sink.stream_provenance = {"lobby": {"threshold": 0.62}}
    sink._put(STATE, "lobby", {})
    sink._put(STATE, "yard", {})
    assert [a.payload["threshold"] for a in box.alerts] == [0.62, 0.5]
