"""Options of `deepscreen screen` for its servers and alerts, as reusable annotated types.

Declared here so that screen_cmd.py stays a short list of parameters; their meaning is in
docs/WEB.md (servers) and docs/ALERTS.md (alerts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

MetricsPublic = Annotated[bool, typer.Option(
    "--metrics-public", help="Allow --metrics-host on a non-loopback address (per-stream "
    "metrics describe what cameras see; set $DEEPSCREEN_WEB_TOKEN to require a token).")]
WebHost = Annotated[list[str] | None, typer.Option(
    "--web-host", help="A host name the page answers to besides localhost and IP addresses "
    "(repeatable; other Host headers are refused: DNS rebinding). docs/WEB.md")]
MqttCa = Annotated[Path | None, typer.Option(
    "--mqtt-ca", help="CA certificates of the mqtts:// broker (default: the system's).")]
MqttCert = Annotated[Path | None, typer.Option(
    "--mqtt-cert", help="Client certificate for the mqtts:// broker.")]
MqttKey = Annotated[Path | None, typer.Option(
    "--mqtt-key", help="Private key of --mqtt-cert (password: $DEEPSCREEN_MQTT_KEY_PASSWORD).")]
OutboxDir = Annotated[Path | None, typer.Option(
    "--outbox-dir", help="Keep undelivered alerts in this folder: retried until delivered, "
    "across restarts (bounded, oldest dropped first). docs/ALERTS.md")]
