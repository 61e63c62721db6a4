"""Standard Webhooks signatures (https://www.standardwebhooks.com): the receiver can check
that a body comes from this worker, unchanged, and is recent.

Three headers go with every POST: ``webhook-id`` (the alert's id, the same on every retry),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``:
``v1,<base64 of HMAC-SHA256 over "id.timestamp.body">``. The secret comes from
$DEEPSCREEN_WEBHOOK_SECRET (or ``_FILE``); written ``whsec_<base64>`` as the spec and its
libraries generate it, the key is the base64-decoded part; any other string is used as its
UTF-8 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

from engine.errors import UsageError

PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret (``whsec_`` + base64, or a plain string)."""
    secret = secret.strip()
    if secret.startswith(PREFIX):
        try:
            return base64.b64decode(secret[len(PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            # The secret itself is never quoted.
            raise UsageError("$DEEPSCREEN_WEBHOOK_SECRET starts with whsec_ but the rest is "
                             "not base64") from None
    return secret.encode()


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 signature>`` of one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


class Signer:
    """Sign webhook bodies with one secret."""

    def __init__(self, secret: str) -> None:
        self._key = secret_key(secret)
        if len(self._key) < 16:  # the spec's secrets are 24-64 bytes; a short one is guessable
            raise UsageError("$DEEPSCREEN_WEBHOOK_SECRET is too short (at least 16 bytes)")

    def headers(self, msg_id: str, body: bytes, now: float | None = None) -> dict[str, str]:
        """The three Standard Webhooks headers for ``body``."""
        ts = int(time.time() if now is None else now)
        return {"webhook-id": msg_id, "webhook-timestamp": str(ts),
                "webhook-signature": sign(self._key, msg_id, ts, body)}
