"""What an alert is, independent of how it travels (MQTT, webhook)."""

from __future__ import annotations

import re
import socket
import uuid
from dataclasses import dataclass, field

#: Alert kinds (the ``type`` field of every payload; docs/ALERTS.md describes each).
VERDICT = "verdict"      # a stream's verdict changed (or its final verdict at the end)
FAKE_TRACK = "fake_track"  # one face track was judged fake (once per track)
STATE = "state"          # periodic per-stream state
KINDS = (VERDICT, FAKE_TRACK, STATE)

_TOPIC_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


def topic_name(stream: str) -> str:
    """A stream name made safe for one MQTT topic level (no '/', '+', '#', spaces)."""
    return _TOPIC_UNSAFE.sub("_", stream).strip("_") or "stream"


def node_name() -> str:
    """This worker's name in payloads: $DEEPSCREEN_NODE, else the host name."""
    import os

    return os.environ.get("DEEPSCREEN_NODE") or socket.gethostname()


@dataclass(frozen=True)
class Alert:
    """One message for the outside world.

    Attributes:
        kind: one of :data:`KINDS`.
        stream: the scrubbed stream name (never carries credentials).
        payload: JSON-able dict; always holds ``type`` (= kind), ``stream`` and ``ts``.
        snapshot: JPEG bytes of the face (fake_track only, when snapshots are on).
        id: unique message id, the same on every retry and after a restart (the webhook's
            ``webhook-id``: receivers use it to drop duplicates).
    """

    kind: str
    stream: str
    payload: dict
    snapshot: bytes | None = field(default=None, repr=False)
    id: str = field(default_factory=lambda: "msg_" + uuid.uuid4().hex)
