"""What `deepscreen screen` shows to people while it runs: the web page and the alerts.

Kept out of screen_cmd.py so the command stays a list of options: this module turns
``--web``, ``--mqtt``, ``--webhook`` and their companions into sinks (a
:class:`~engine.live.LiveBoard` first, then the :class:`~engine.alerts.AlertSink`) and into
the routes of the metrics server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import typer

from engine.errors import UsageError

log = logging.getLogger("deepscreen_cli.screen")


@dataclass
class LiveOutputs:
    """The board, alert sink and web routes of one run (all None when not asked for)."""

    board: object = None
    alerts: object = None
    routes: object = None
    web_bind: tuple[str, int] | None = None
    sinks: list = field(default_factory=list)

    def bind(self, pipeline, topics: dict[str, str] | None = None) -> None:
        """Give the alerts the run's model hash and thresholds (known once it is built) and
        the MQTT topics of streams that name their own (``alert_topic`` in a config file)."""
        if self.alerts is not None:
            self.alerts.provenance = dict(pipeline.provenance)
            self.alerts.stream_provenance = dict(getattr(pipeline, "stream_provenance", {}))
            for box in self.alerts.outboxes:
                if hasattr(box.transport, "stream_topics"):
                    box.transport.stream_topics = dict(topics or {})

    def close(self) -> None:
        """End the page's event streams (the alert sink closes with the run)."""
        if self.routes is not None:
            self.routes.close()

    def abort(self) -> None:
        """The run never started: stop the alert connections at once."""
        if self.alerts is not None:
            for box in self.alerts.outboxes:
                box.drain_s = 0.0
                box.close()
        self.close()


def check_metrics_bind(host: str, port: int, public: bool) -> None:
    """``--metrics-host`` beyond loopback needs ``--metrics-public``, as ``--web`` needs
    ``--web-public``: per-stream metrics describe what the cameras see."""
    from engine.web import is_loopback

    if port and not public and not is_loopback(host):
        raise UsageError(f"--metrics-host {host}: binding /metrics to a non-loopback address "
                         "needs --metrics-public (see docs/WEB.md)")


def start_server(metrics, pipeline, outputs: LiveOutputs, host: str, port: int,
                 web_hosts: list[str] | None = None, faults=None):
    """Serve /metrics, /healthz, /readyz (and the page) for a built pipeline.

    The token of $DEEPSCREEN_WEB_TOKEN (or ``_FILE``), when set, guards /metrics and the page.
    ``faults`` (the run's :class:`~engine.sinks.guard.OutputFaults`) adds the outputs lost
    mid-run to /healthz, which then says degraded.

    Raises:
        UsageError: the address cannot be bound (the sources and alerts are stopped first).
    """
    from engine.alerts.credentials import WEB_TOKEN, secret
    from engine.metrics import MetricsServer

    try:
        health = faults.health(pipeline.health) if faults is not None else pipeline.health
        server = MetricsServer(metrics.registry, health, host, port,
                               routes=outputs.routes, allowed_hosts=web_hosts or (),
                               token=secret(WEB_TOKEN)).start()
    except OSError as exc:
        for st in pipeline.states:
            st.source.stop()
        outputs.abort()
        raise UsageError(f"cannot serve metrics on {host}:{port}: {exc.strerror}") from exc
    log.info("metrics on http://%s:%d/metrics", server.host, server.port)
    if outputs.routes is not None:
        # Said even without -v: the user asked for the page and needs its address.
        typer.echo(f"live page: http://{server.host}:{server.port}/", err=True)
    return server


def build_live_outputs(*, web: str | None, web_public: bool, mqtt: str | None,
                       webhook: str | None, ha_discovery: bool, snapshots: bool,
                       state_every: float, registry=None, outbox_dir: Path | None = None,
                       mqtt_tls: tuple[Path | None, Path | None, Path | None] = (None,) * 3,
                       ) -> LiveOutputs:
    """Sinks and routes for the options given; nothing at all when none is given.

    Args:
        outbox_dir: keep undelivered alerts on disk (``--outbox-dir``).
        mqtt_tls: ``--mqtt-ca``, ``--mqtt-cert``, ``--mqtt-key``.

    Raises:
        UsageError: a bad bind address, a non-loopback bind without ``--web-public``, a bad
            URL, an unreadable credentials or TLS file, or TLS files without ``mqtts://``.
        BackendUnavailable: ``--mqtt`` without paho-mqtt.
    """
    out = LiveOutputs()
    if not (web or mqtt or webhook):
        return out
    from engine.alerts import build_alert_sink
    from engine.alerts.mqtt import MqttTls
    from engine.live import LiveBoard

    if web:
        from engine.web import is_loopback, parse_bind

        host, port = parse_bind(web)
        if not is_loopback(host) and not web_public:
            raise UsageError(
                f"--web {web}: the page shows faces; binding to a "
                "non-loopback address needs --web-public (see docs/WEB.md)")
        out.web_bind = (host, port)
    out.board = LiveBoard(crops=bool(web) or snapshots)
    out.sinks.append(out.board)
    out.alerts = build_alert_sink(out.board, mqtt, webhook, ha_discovery=ha_discovery,
                                  snapshots=snapshots, state_every_s=state_every,
                                  registry=registry, outbox_dir=outbox_dir,
                                  mqtt_tls=MqttTls(*mqtt_tls))
    if out.alerts is not None:
        out.sinks.append(out.alerts)
    if web:
        from engine.web import WebRoutes

        out.routes = WebRoutes(out.board)
    return out
