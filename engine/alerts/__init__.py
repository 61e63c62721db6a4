"""Alerts for the people who watch: MQTT (Frigate / Home Assistant style) and webhooks.

:func:`build_alert_sink` assembles the sink from command-line style settings; transports import
their client libraries lazily (paho-mqtt comes with the ``alerts`` extra; webhooks need none).
"""

from __future__ import annotations

from engine.alerts.alert import FAKE_TRACK, KINDS, STATE, VERDICT, Alert, topic_name
from engine.alerts.outbox import Outbox, Transport
from engine.alerts.sink import AlertSink
from engine.alerts.telemetry import register_alert_metrics
from engine.live.board import LiveBoard
from engine.metrics import Registry

__all__ = ["FAKE_TRACK", "KINDS", "STATE", "VERDICT", "Alert", "AlertSink", "Outbox",
           "Transport", "build_alert_sink", "register_alert_metrics", "topic_name"]


def build_alert_sink(board: LiveBoard, mqtt: str | None = None, webhook: str | None = None,
                     *, ha_discovery: bool = False, snapshots: bool = True,
                     state_every_s: float = 10.0, capacity: int = 256,
                     registry: Registry | None = None) -> AlertSink | None:
    """The alert sink for the destinations given (None when there are none).

    Raises:
        UsageError: a malformed URL or an unreadable credentials file.
        BackendUnavailable: --mqtt without paho-mqtt installed.
    """
    transports = []
    if webhook:  # first: it has no side effects when the MQTT settings turn out wrong
        from engine.alerts.webhook import WebhookTransport

        transports.append((WebhookTransport(webhook), 5))
    if mqtt:
        from engine.alerts.mqtt import MqttTransport

        transports.append((MqttTransport(mqtt, ha_discovery=ha_discovery), 0))
    if not transports:
        return None
    outboxes = [Outbox(t, capacity=capacity, max_attempts=attempts) for t, attempts in transports]
    if registry is not None:
        register_alert_metrics(registry, outboxes)
    return AlertSink(outboxes, board, state_every_s=state_every_s, snapshots=snapshots)
