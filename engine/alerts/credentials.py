"""Secrets for the alert sinks: from the environment or a file, never from a log line.

``NAME`` is read from the environment variable ``NAME``, else from the file named by
``NAME_FILE`` (a Docker/Kubernetes secret mount), with surrounding whitespace removed.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import UsageError

MQTT_USERNAME = "DEEPSCREEN_MQTT_USERNAME"
MQTT_PASSWORD = "DEEPSCREEN_MQTT_PASSWORD"
MQTT_KEY_PASSWORD = "DEEPSCREEN_MQTT_KEY_PASSWORD"  # of an encrypted --mqtt-key
WEBHOOK_TOKEN = "DEEPSCREEN_WEBHOOK_TOKEN"
WEBHOOK_SECRET = "DEEPSCREEN_WEBHOOK_SECRET"  # HMAC signing key (engine/alerts/signing.py)
WEB_TOKEN = "DEEPSCREEN_WEB_TOKEN"  # bearer token of the page and /metrics (engine/web)


def secret(name: str) -> str | None:
    """The value of ``name`` from the environment, else from the file in ``name``_FILE."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(name + "_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        # The path is configuration, not a secret; the content never appears anywhere.
        raise UsageError(f"cannot read {name}_FILE ({path}): {exc.strerror}") from exc
