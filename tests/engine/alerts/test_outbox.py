"""The outbox never blocks its producer and accounts for every alert."""

from __future__ import annotations

import threading

from engine.alerts import Alert, Outbox
from tests.engine.alerts.servers import wait_for


class GatedTransport:
    """Delivers only while ``open`` is set; records what it delivered."""

    name = "fake"

    def __init__(self) -> None:
        self.open_ = threading.Event()
        self.delivered: list[Alert] = []

    @property
    def connected(self) -> bool:
        return self.open_.is_set()

    def deliver(self, alert: Alert) -> bool:
        if not self.open_.wait(0.05):
            return False
        self.delivered.append(alert)
        return True

    def close(self) -> None:
        pass


def alert(i: int) -> Alert:
    return Alert("state", "cam", {"type": "state", "i": i})


def test_full_queue_drops_the_oldest_and_counts_add_up() -> None:
    t = GatedTransport()
    box = Outbox(t, capacity=4, backoff_s=0.01, max_backoff_s=0.02, drain_s=5.0)
    for i in range(20):
        box.put(alert(i))  # the transport is down: these pile up, never block
    c = box.counts()
    assert c["produced"] == 20 and c["sent"] == 0
    assert c["dropped"] + c["pending"] == 20
    t.open_.set()
    assert wait_for(lambda: box.counts()["pending"] == 0)
    final = box.close()
    assert final["sent"] + final["dropped"] == final["produced"] == 20
    # the newest survive: a newer state supersedes an older one
    assert [a.payload["i"] for a in t.delivered][-1] == 19


def test_close_drops_what_cannot_be_delivered() -> None:
    t = GatedTransport()
    box = Outbox(t, capacity=8, backoff_s=0.01, max_backoff_s=0.02, drain_s=0.2)
    for i in range(5):
        box.put(alert(i))
    final = box.close()
    assert final == {"produced": 5, "sent": 0, "dropped": 5, "pending": 0}
    box.put(alert(99))  # after close: counted, dropped, no error
    assert box.counts()["dropped"] == 6


def test_retries_are_bounded_when_asked(caplog) -> None:
    class Broken(GatedTransport):
        def deliver(self, alert):
            raise OSError("refused http://user:secret@example/hook")

    box = Outbox(Broken(), max_attempts=3, backoff_s=0.01, max_backoff_s=0.01)
    box.put(alert(1))
    assert wait_for(lambda: box.counts()["dropped"] == 1)
    assert box.failures == 3
    box.close()
    assert "refused" in caplog.text and "secret" not in caplog.text  # logged, scrubbed
