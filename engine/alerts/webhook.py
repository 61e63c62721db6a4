"""Webhook transport: POST each alert as JSON (standard library only, no extra needed).

The body is the alert's payload; a fake-track alert with a snapshot carries it as
``snapshot_jpeg`` (base64). A bearer token from $DEEPSCREEN_WEBHOOK_TOKEN (or
$DEEPSCREEN_WEBHOOK_TOKEN_FILE) goes in the ``Authorization`` header. Any 2xx answer counts as
delivered; anything else (refused, timeout, 4xx/5xx) is retried by the outbox with back-off and
dropped after its last attempt.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from engine.alerts.alert import Alert
from engine.alerts.credentials import WEBHOOK_TOKEN, secret
from engine.errors import UsageError
from engine.sources.scrub import scrub_text, scrub_url

log = logging.getLogger("engine.alerts.webhook")


def webhook_body(alert: Alert) -> bytes:
    """The JSON body POSTed for one alert."""
    payload = dict(alert.payload)
    if alert.snapshot:
        payload["snapshot_jpeg"] = base64.b64encode(alert.snapshot).decode("ascii")
    return json.dumps(payload, separators=(",", ":")).encode()


class WebhookTransport:
    """POST alerts to one URL.

    Args:
        url: ``http(s)://...``; a user:password in it becomes HTTP basic auth (prefer the
            token variable: URLs end up in process listings).
        timeout_s: per request.
    """

    name = "webhook"

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError("--webhook takes an http:// or https:// URL")
        self.url = url
        self.display = scrub_url(url)  # what logs may show
        self.timeout_s = timeout_s
        self.headers = {"Content-Type": "application/json", "User-Agent": "deepscreen"}
        token = secret(WEBHOOK_TOKEN)
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif parts.username:
            cred = f"{parts.username}:{parts.password or ''}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(cred).decode()
            netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
            self.url = parts._replace(netloc=netloc).geturl()
        self._ok = True

    def open(self, streams: list[str]) -> None:
        return None

    @property
    def connected(self) -> bool:
        return self._ok

    def deliver(self, alert: Alert) -> bool:
        req = urllib.request.Request(self.url, data=webhook_body(alert), headers=self.headers,
                                     method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                if not 200 <= resp.status < 300:  # a 1xx/3xx that urllib did not follow
                    raise urllib.error.URLError(f"HTTP {resp.status}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            # HTTPError (4xx/5xx) is a URLError too. Logged once per outage, scrubbed.
            if self._ok:
                log.warning("webhook %s failed: %s; retrying", self.display,
                            scrub_text(f"{type(exc).__name__}: {exc}"))
            self._ok = False
            return False
        if not self._ok:
            log.info("webhook %s reachable again", self.display)
        self._ok = True
        return True

    def close(self) -> None:
        return None
