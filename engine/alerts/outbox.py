"""A bounded outbox: alerts wait here while a broker or receiver is slow or away.

The screening thread only ever calls :meth:`Outbox.put`, which never blocks: when the queue is
full the *oldest* alert is dropped (a newer state supersedes an older one, and a queue that
keeps the oldest would deliver stale news after an outage). One worker thread per outbox hands
alerts to a :class:`Transport`, retrying with exponential back-off.

A ``state`` alert supersedes the queued ``state`` alerts of its stream (they are dropped and
counted): an outage then fills the queue with the verdicts and fake-face alerts, not with
stale states. With a ``folder`` (:class:`~engine.alerts.store.AlertStore`) the queue lives on
disk too: alerts still undelivered at the end are kept there for the next run, which loads
them first.

Accounting: every alert put (or loaded from the folder) is *produced*; it ends *sent* (the
transport confirmed it), *dropped* (queue overflow, superseded state, retries exhausted, or
undelivered when a run without a folder closed) or *pending* (queued, in flight, or kept in
the folder after close), so ``sent + dropped + pending == produced`` at any moment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import Protocol

from engine.alerts.alert import STATE, Alert
from engine.alerts.store import AlertStore
from engine.sources.scrub import scrub_text

log = logging.getLogger("engine.alerts")


class Transport(Protocol):
    """Where an outbox delivers: MQTT, a webhook."""

    name: str

    @property
    def connected(self) -> bool:
        """True while the far end is believed reachable (for /metrics and the back-off)."""

    def deliver(self, alert: Alert) -> bool:
        """Send one alert; True once confirmed, False to be retried (may raise: retried too)."""

    def close(self) -> None:
        """Release the connection (called once, after the last delivery attempt)."""


class Outbox:
    """Bounded queue + worker thread in front of one transport.

    Args:
        transport: where alerts go.
        capacity: most alerts waiting; beyond it the oldest is dropped.
        max_attempts: delivery attempts per alert before it is dropped (0 = until closed;
            right for MQTT, whose client resends by itself after a reconnect).
        backoff_s: first retry delay; doubles up to ``max_backoff_s``.
        drain_s: at :meth:`close`, how long to keep delivering what is queued.
        folder: keep the queue on disk here too (this destination's own folder); None =
            memory only.
    """

    def __init__(self, transport: Transport, capacity: int = 256, max_attempts: int = 0,
                 backoff_s: float = 0.5, max_backoff_s: float = 15.0,
                 drain_s: float = 5.0, folder: Path | None = None) -> None:
        if capacity < 1:
            raise ValueError("an outbox needs room for at least one alert")
        self.transport = transport
        self.name = transport.name
        self.capacity = capacity
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.drain_s = drain_s
        self.produced = 0
        self.sent = 0
        self.dropped = 0
        self.failures = 0  # delivery attempts that failed (each retried or dropped)
        self._queue: deque[Alert] = deque()
        self._current: Alert | None = None
        self._cond = threading.Condition()
        self._closing = False
        self._deadline = float("inf")
        self.kept = 0  # left in the folder at close, for the next run
        self.store = AlertStore(folder) if folder is not None else None
        if self.store is not None:
            for old in self.store.load():  # an earlier run's undelivered alerts go first
                self._append(old)
        self._thread = threading.Thread(target=self._work, name=f"alerts-{self.name}",
                                        daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Alerts produced but neither sent nor dropped yet (queued + the one in flight)."""
        with self._cond:
            return len(self._queue) + (self._current is not None)

    def put(self, alert: Alert) -> None:
        """Queue an alert; never blocks on the far end (drops the oldest when full)."""
        if self._closing:
            with self._cond:
                self.produced += 1
                self.dropped += 1
            return
        if self.store is not None:
            self.store.save(alert)  # before queueing: the worker may send it at once
        with self._cond:
            self._append(alert)
            self._cond.notify()

    def _append(self, alert: Alert) -> None:
        """Queue ``alert`` (lock held or not yet shared): supersede, bound, count."""
        self.produced += 1
        if alert.kind == STATE:
            stale = [a for a in self._queue if a.kind == STATE and a.stream == alert.stream]
            for old in stale:
                self._queue.remove(old)
                self._forget(old)
        while len(self._queue) >= self.capacity:
            self._forget(self._queue.popleft())
        self._queue.append(alert)

    def _forget(self, alert: Alert) -> None:
        self.dropped += 1
        if self.store is not None:
            self.store.remove(alert)

    def counts(self) -> dict[str, int]:
        with self._cond:
            pending = len(self._queue) + (self._current is not None) + self.kept
            return {"produced": self.produced, "sent": self.sent, "dropped": self.dropped,
                    "pending": pending}

    def close(self) -> dict[str, int]:
        """Deliver what is queued for up to ``drain_s``, then drop the rest; final counts."""
        with self._cond:
            self._closing = True
            self._deadline = time.monotonic() + self.drain_s
            self._cond.notify_all()
        self._thread.join(timeout=self.drain_s + 10.0)
        with self._cond:
            left = len(self._queue) + (self._current is not None)
            if self.store is not None:
                self.kept = left  # stays pending: on disk for the next run
            else:
                self.dropped += left
            self._queue.clear()
            self._current = None
        try:
            self.transport.close()
        except Exception as exc:  # closing a dead connection must not fail the run
            log.warning("%s: close failed: %s", self.name, scrub_text(str(exc)))
        counts = self.counts()
        if self.kept:
            log.warning("%s alerts: %d undelivered, kept in %s for the next run", self.name,
                        self.kept, self.store.folder if self.store else "")
        if counts["dropped"]:
            log.warning("%s alerts: produced %d, sent %d, dropped %d", self.name,
                        counts["produced"], counts["sent"], counts["dropped"])
        else:
            log.info("%s alerts: produced %d, sent %d, dropped 0", self.name,
                     counts["produced"], counts["sent"])
        return counts

    # ---------------------------------------------------------------- worker
    def _next(self) -> Alert | None:
        with self._cond:
            while not self._queue:
                if self._closing:
                    return None
                self._cond.wait(0.5)
            self._current = self._queue.popleft()
            return self._current

    def _done(self, sent: bool) -> None:
        with self._cond:
            if self._current is not None:
                if sent:
                    self.sent += 1
                else:
                    self.dropped += 1
                if self.store is not None:
                    self.store.remove(self._current)
            self._current = None

    def _sleep(self, seconds: float) -> bool:
        """Wait before a retry; False when the drain deadline has passed."""
        start = time.monotonic()
        with self._cond:
            while True:  # close() may move the deadline closer while we wait
                now = time.monotonic()
                end = min(start + seconds, self._deadline)
                if now >= end:
                    break
                self._cond.wait(end - now)
            return time.monotonic() < self._deadline

    def _work(self) -> None:
        while True:
            alert = self._next()
            if alert is None:
                return
            attempts, delay = 0, self.backoff_s
            while True:
                if time.monotonic() >= self._deadline:
                    return  # close() counts what is left as dropped
                attempts += 1
                try:
                    ok = self.transport.deliver(alert)
                except Exception as exc:  # a transport bug or a network error: retry, log once
                    ok = False
                    if attempts == 1:
                        log.warning("%s: delivery failed: %s", self.name,
                                    scrub_text(f"{type(exc).__name__}: {exc}"))
                if ok:
                    self._done(True)
                    break
                self.failures += 1
                if self.max_attempts and attempts >= self.max_attempts:
                    self._done(False)
                    break
                if not self._sleep(delay):
                    return
                delay = min(delay * 2, self.max_backoff_s)
