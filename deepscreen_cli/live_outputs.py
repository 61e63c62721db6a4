"""What `deepscreen screen` shows to people while it runs: the web page and the alerts.

Kept out of screen_cmd.py so the command stays a list of options: this module turns
``--web``, ``--mqtt``, ``--webhook`` and their companions into sinks (a
:class:`~engine.live.LiveBoard` first, then the :class:`~engine.alerts.AlertSink`) and into
the routes of the metrics server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

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


def build_live_outputs(*, web: str | None, web_public: bool, mqtt: str | None,
                       webhook: str | None, ha_discovery: bool, snapshots: bool,
                       state_every: float, registry=None) -> LiveOutputs:
    """Sinks and routes for the options given; nothing at all when none is given.

    Raises:
        UsageError: a bad bind address, a non-loopback bind without ``--web-public``, a bad
            URL, or an unreadable credentials file.
        BackendUnavailable: ``--mqtt`` without paho-mqtt.
    """
    out = LiveOutputs()
    if not (web or mqtt or webhook):
        return out
    from engine.alerts import build_alert_sink
    from engine.live import LiveBoard

    if web:
        from engine.web import is_loopback, parse_bind

        host, port = parse_bind(web)
        if not is_loopback(host) and not web_public:
            raise UsageError(
                f"--web {web}: the page shows faces and has no login; binding to a "
                "non-loopback address needs --web-public (see docs/WEB.md)")
        out.web_bind = (host, port)
    out.board = LiveBoard(crops=bool(web) or snapshots)
    out.sinks.append(out.board)
    out.alerts = build_alert_sink(out.board, mqtt, webhook, ha_discovery=ha_discovery,
                                  snapshots=snapshots, state_every_s=state_every,
                                  registry=registry)
    if out.alerts is not None:
        out.sinks.append(out.alerts)
    if web:
        from engine.web import WebRoutes

        out.routes = WebRoutes(out.board)
    return out
