"""The alerts' Prometheus metrics: produced, sent, dropped, pending and connected per sink.

``deepscreen_alerts_sent_total + deepscreen_alerts_dropped_total +
deepscreen_alerts_pending == deepscreen_alerts_produced_total`` at every scrape (pending is 0
once the run has closed its outboxes).
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.alerts.outbox import Outbox
from engine.metrics import Registry


def register_alert_metrics(registry: Registry, outboxes: Sequence[Outbox]) -> None:
    """Add the alert metrics of ``outboxes`` to ``registry`` (mirrored at scrape time)."""
    produced = registry.counter("deepscreen_alerts_produced_total",
                                "Alerts produced for a destination.", ["sink"])
    sent = registry.counter("deepscreen_alerts_sent_total",
                            "Alerts the destination confirmed (MQTT ack, HTTP 2xx).", ["sink"])
    dropped = registry.counter(
        "deepscreen_alerts_dropped_total",
        "Alerts given up: queue full (oldest first), retries exhausted, or undelivered at exit.",
        ["sink"])
    pending = registry.gauge("deepscreen_alerts_pending",
                             "Alerts queued or in flight.", ["sink"])
    connected = registry.gauge("deepscreen_alerts_connected",
                               "1 while the destination is reachable.", ["sink"])

    def collect() -> None:
        for box in outboxes:
            c = box.counts()
            # One snapshot of the counts, so the invariant holds within a scrape.
            produced.set_total(c["produced"], sink=box.name)
            sent.set_total(c["sent"], sink=box.name)
            dropped.set_total(c["dropped"], sink=box.name)
            pending.set(c["pending"], sink=box.name)
            connected.set(1.0 if box.transport.connected else 0.0, sink=box.name)

    registry.add_collector(collect)
