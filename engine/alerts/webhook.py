"""Webhook transport: POST each alert as JSON (standard library only, no extra needed).

The body is the alert's payload; a fake-track alert with a snapshot carries it as
``snapshot_jpeg`` (base64). A bearer token from $DEEPSCREEN_WEBHOOK_TOKEN (or
$DEEPSCREEN_WEBHOOK_TOKEN_FILE) goes in the ``Authorization`` header. With
$DEEPSCREEN_WEBHOOK_SECRET (or ``_FILE``) every body is signed the Standard Webhooks way
(:mod:`engine.alerts.signing`).

Only a 2xx answer counts as delivered. Redirects are never followed: a receiver (or whoever
took over its address) answering 3xx would otherwise get the token and the faces sent on to
wherever it points; a 3xx is logged and treated as a failed delivery, like a refusal, a
timeout or a 4xx/5xx, which the outbox retries with back-off.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from engine.alerts.alert import Alert
from engine.alerts.credentials import WEBHOOK_SECRET, WEBHOOK_TOKEN, secret
from engine.alerts.signing import Signer
from engine.errors import UsageError
from engine.sources.scrub import redact

log = logging.getLogger("engine.alerts.webhook")


def webhook_body(alert: Alert) -> bytes:
    """The JSON body POSTed for one alert."""
    payload = dict(alert.payload)
    if alert.snapshot:
        payload["snapshot_jpeg"] = base64.b64encode(alert.snapshot).decode("ascii")
    return json.dumps(payload, separators=(",", ":")).encode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turn every 3xx into an HTTPError instead of a second request carrying our headers."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _is_loopback_host(host: str) -> bool:
    from engine.web import is_loopback

    return is_loopback(host)


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
        self.display = redact(url)  # what logs may show
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
        signing_secret = secret(WEBHOOK_SECRET)
        self.signer = Signer(signing_secret) if signing_secret else None
        if ("Authorization" in self.headers and parts.scheme == "http"
                and not _is_loopback_host(parts.hostname)):
            # Said once at start: anyone on the path can read (and replay) the credential.
            log.warning("webhook %s: the credential goes over plain http:// to a host on the "
                        "network; use https://", self.display)
        self._ok = True

    def open(self, streams: list[str]) -> None:
        return None

    @property
    def connected(self) -> bool:
        return self._ok

    def request(self, alert: Alert) -> urllib.request.Request:
        """The POST for one alert (signed afresh on every attempt: the timestamp changes)."""
        body = webhook_body(alert)
        headers = dict(self.headers)
        if self.signer is not None:
            headers.update(self.signer.headers(alert.id, body))
        return urllib.request.Request(self.url, data=body, headers=headers, method="POST")

    def deliver(self, alert: Alert) -> bool:
        try:
            with _OPENER.open(self.request(alert), timeout=self.timeout_s) as resp:
                if not 200 <= resp.status < 300:
                    raise urllib.error.URLError(f"HTTP {resp.status}")
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                reason = f"HTTP {exc.code} redirect (not followed)"
            else:
                reason = f"HTTP {exc.code}"
            return self._failed(reason)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return self._failed(f"{type(exc).__name__}: {exc}")
        if not self._ok:
            log.info("webhook %s reachable again", self.display)
        self._ok = True
        return True

    def _failed(self, reason: str) -> bool:
        if self._ok:  # logged once per outage, redacted
            log.warning("webhook %s failed: %s; retrying", self.display, redact(reason))
        self._ok = False
        return False

    def close(self) -> None:
        return None
