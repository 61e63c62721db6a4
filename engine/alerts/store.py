"""The outbox on disk: one JSON file per undelivered alert, so an outage outlives the process.

A receiver that is down for an hour, or a worker restarted by systemd or Kubernetes while it
is, must not lose the fake-face alerts of that hour. Each queued alert is written to
``FOLDER/<sink>/<ns-time>-<id>.json`` (atomically: a temporary file renamed into place) and
removed once it is sent or dropped; a new run loads what an earlier one left, oldest first.
Disk errors never stop the screening: the alert stays queued in memory and the error is
logged once.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from pathlib import Path

from engine.alerts.alert import Alert

log = logging.getLogger("engine.alerts")


class AlertStore:
    """Write, list and remove the alert files of one destination.

    Args:
        folder: the destination's own folder (created with mode 0700: alerts hold faces).
    """

    def __init__(self, folder: Path) -> None:
        from engine.errors import UsageError

        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise UsageError(f"--outbox-dir: cannot create {self.folder} ({exc.strerror})") \
                from None
        if not os.access(self.folder, os.W_OK | os.X_OK):
            raise UsageError(f"--outbox-dir: {self.folder} is not writable")
        self._paths: dict[str, Path] = {}
        self._warned = False

    def load(self) -> list[Alert]:
        """The alerts an earlier run left, oldest first (unreadable files are removed)."""
        alerts = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                d = json.loads(path.read_text(encoding="utf-8"))
                snapshot = base64.b64decode(d["snapshot"]) if d.get("snapshot") else None
                alert = Alert(d["kind"], d["stream"], d["payload"], snapshot, id=d["id"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("outbox %s: unreadable %s removed (%s)", self.folder, path.name,
                            type(exc).__name__)
                path.unlink(missing_ok=True)
                continue
            self._paths[alert.id] = path
            alerts.append(alert)
        for tmp in self.folder.glob(".*.tmp"):  # a write cut short by a crash
            tmp.unlink(missing_ok=True)
        return alerts

    def save(self, alert: Alert) -> None:
        """Persist one alert (a disk error is logged once; the alert stays in memory)."""
        record = {"id": alert.id, "kind": alert.kind, "stream": alert.stream,
                  "payload": alert.payload,
                  "snapshot": base64.b64encode(alert.snapshot).decode("ascii")
                  if alert.snapshot else None}
        path = self.folder / f"{time.time_ns():020d}-{alert.id}.json"
        tmp = self.folder / f".{path.name}.tmp"
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                json.dump(record, fh, separators=(",", ":"))
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if not self._warned:
                self._warned = True
                log.warning("outbox %s: cannot persist alerts (%s); keeping them in memory",
                            self.folder, exc.strerror)
            return
        self._paths[alert.id] = path

    def remove(self, alert: Alert) -> None:
        """Forget a sent or dropped alert."""
        path = self._paths.pop(alert.id, None)
        if path is not None:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass  # a read-only folder: the next run sends it again (ids allow dedup)
