"""Alerts for the people who watch: MQTT (Frigate / Home Assistant style) and webhooks.

:func:`build_alert_sink` assembles the sink from command-line style settings; transports import
their client libraries lazily (paho-mqtt comes with the ``alerts`` extra; webhooks need none).
"""

from __future__ import annotations

from pathlib import Path

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
                     state_every_s: float = 10.0, capacity: int | None = None,
                     registry: Registry | None = None, outbox_dir: Path | None = None,
                     mqtt_tls=None) -> AlertSink | None:
    """The alert sink for the destinations given (None when there are none).

    Args:
        outbox_dir: keep undelivered alerts on disk here (one subfolder per destination);
            they are then retried until delivered, across restarts, within ``capacity``.
        capacity: most alerts queued per destination (default 256 in memory, 1024 on disk).
        mqtt_tls: :class:`engine.alerts.mqtt.MqttTls` for an ``mqtts://`` broker.

    Raises:
        UsageError: a malformed URL, an unreadable credentials or TLS file.
        BackendUnavailable: --mqtt without paho-mqtt installed.
    """
    transports = []
    # In memory a webhook gives up after 5 tries (a run must end); on disk an alert waits for
    # its receiver as long as the folder has room for it.
    webhook_attempts = 0 if outbox_dir is not None else 5
    if webhook:  # first: it has no side effects when the MQTT settings turn out wrong
        from engine.alerts.webhook import WebhookTransport

        transports.append((WebhookTransport(webhook), webhook_attempts))
    if mqtt:
        from engine.alerts.mqtt import MqttTransport

        transports.append((MqttTransport(mqtt, ha_discovery=ha_discovery, tls=mqtt_tls), 0))
    if not transports:
        return None
    if capacity is None:
        capacity = 256 if outbox_dir is None else 1024
    outboxes = [Outbox(t, capacity=capacity, max_attempts=attempts,
                       folder=Path(outbox_dir) / t.name if outbox_dir is not None else None)
                for t, attempts in transports]
    if registry is not None:
        register_alert_metrics(registry, outboxes)
    return AlertSink(outboxes, board, state_every_s=state_every_s, snapshots=snapshots)
