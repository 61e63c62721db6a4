"""The webhook keeps its credential to itself, signs what it sends, and outlives an outage.

Everything runs against real HTTP servers on 127.0.0.1: a receiver that redirects to a
second server (the thief), a receiver that fails and then recovers, and one that is not
there at all while the outbox waits on disk.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

import pytest

from engine.alerts import Alert, Outbox, build_alert_sink, register_alert_metrics
from engine.alerts.webhook import WebhookTransport
from engine.live import LiveBoard
from engine.metrics import Registry
from tests.engine.alerts.servers import Receiver, free_port, wait_for

TOKEN = "tok-Sup3rSecret"
# A Standard Webhooks secret: whsec_ + base64 of 24 random bytes.
KEY = bytes(range(24))
WHSEC = "whsec_" + base64.b64encode(KEY).decode()


def lower(headers: dict) -> dict:
    """HTTP header names are case-insensitive (urllib sends ``Webhook-id``)."""
    return {k.lower(): v for k, v in headers.items()}


def fake_alert(i: int = 0) -> Alert:
    return Alert("fake_track", "cam", {"type": "fake_track", "stream": "cam", "track": i})


def test_a_redirect_is_not_followed_and_not_counted_as_sent(monkeypatch, caplog) -> None:
    monkeypatch.setenv("DEEPSCREEN_WEBHOOK_TOKEN", TOKEN)
    thief = Receiver()
    hop = Receiver(redirect=thief.url.replace("/hook", "/stolen"))
    try:
        box = Outbox(WebhookTransport(hop.url), max_attempts=3, backoff_s=0.01,
                     max_backoff_s=0.02)
        registry = Registry()
        register_alert_metrics(registry, [box])
        box.put(fake_alert())
        assert wait_for(lambda: box.counts()["dropped"] == 1, timeout=10)
        final = box.close()
    finally:
        hop.close()
        thief.close()
    assert len(hop.attempts) == 3
    assert thief.attempts == []  # nothing, and so no token, reached the redirect's target
    assert final == {"produced": 1, "sent": 0, "dropped": 1, "pending": 0}
    assert 'deepscreen_alerts_sent_total{sink="webhook"} 0' in registry.render()
    assert "302 redirect (not followed)" in caplog.text and TOKEN not in caplog.text


def test_bodies_are_signed_the_standard_webhooks_way(monkeypatch, receiver) -> None:
    monkeypatch.setenv("DEEPSCREEN_WEBHOOK_SECRET", WHSEC)
    receiver.fail = True  # the first attempts fail: the retry must keep the message id
    box = Outbox(WebhookTransport(receiver.url), backoff_s=0.05, max_backoff_s=0.05)
    alert = fake_alert(7)
    box.put(alert)
    assert wait_for(lambda: len(receiver.attempts) >= 2, timeout=10)
    receiver.fail = False
    assert wait_for(lambda: receiver.raw, timeout=10)
    box.close()
    headers, body = lower(receiver.headers[0]), receiver.raw[0]
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    assert msg_id == alert.id
    assert {lower(a)["webhook-id"] for a in receiver.attempts} == {msg_id}
    # Computed here from the spec, not with the code under test.
    expected = base64.b64encode(
        hmac.new(KEY, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    tampered = body.replace(b'"track":7', b'"track":8')
    forged = base64.b64encode(
        hmac.new(KEY, f"{msg_id}.{ts}.".encode() + tampered, hashlib.sha256).digest()).decode()
    assert forged != expected


def test_a_malformed_signing_secret_is_a_usage_error(monkeypatch) -> None:
    from engine.errors import UsageError

    monkeypatch.setenv("DEEPSCREEN_WEBHOOK_SECRET", "whsec_not base64!")
    with pytest.raises(UsageError) as err:
        WebhookTransport("http://127.0.0.1:9/hook")
    assert "not base64" in str(err.value) and "whsec_not" not in str(err.value)


@pytest.mark.parametrize(("url", "warns"), [
    ("http://192.0.2.10:8080/hook", True),
    ("http://alerts.example/hook", True),
    ("https://192.0.2.10/hook", False),
    ("http://127.0.0.1:8080/hook", False),
    ("http://localhost/hook", False),
])
def test_a_token_over_plain_http_to_the_network_warns(monkeypatch, caplog, url, warns) -> None:
    monkeypatch.setenv("DEEPSCREEN_WEBHOOK_TOKEN", TOKEN)
    with caplog.at_level(logging.WARNING, logger="engine.alerts.webhook"):
        WebhookTransport(url)
    assert ("plain http://" in caplog.text) is warns
    assert TOKEN not in caplog.text


def test_the_outbox_folder_keeps_fake_face_alerts_until_the_receiver_returns(
        tmp_path, receiver) -> None:
    board = LiveBoard()
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: the receiver is down
    sink = build_alert_sink(board, webhook=dead, outbox_dir=tmp_path / "outbox",
                            state_every_s=0)
    box = sink.outboxes[0]
    box.drain_s = 0.3
    assert box.max_attempts == 0  # on disk: retried until delivered, never given up
    fake = fake_alert(3)
    box.put(fake)
    for _ in range(40):  # an hour of periodic states supersede each other, not the fake face
        box.put(Alert("state", "cam", {"type": "state", "stream": "cam"}))
    counts = box.close()
    assert counts == {"produced": 41, "sent": 0, "dropped": 39, "pending": 2}
    assert len(list((tmp_path / "outbox" / "webhook").glob("*.json"))) == 2

    # The next run (a restart) finds them and delivers them once the receiver is there.
    sink = build_alert_sink(board, webhook=receiver.url, outbox_dir=tmp_path / "outbox",
                            state_every_s=0)
    box = sink.outboxes[0]
    assert wait_for(lambda: len(receiver.bodies) == 2, timeout=10)
    counts = box.close()
    assert [b["type"] for b in receiver.bodies] == ["fake_track", "state"]
    assert counts == {"produced": 2, "sent": 2, "dropped": 0, "pending": 0}
    assert not list((tmp_path / "outbox" / "webhook").glob("*"))


def test_the_outbox_folder_is_bounded_oldest_dropped_first(tmp_path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"
    box = Outbox(WebhookTransport(dead), capacity=3, backoff_s=5.0, drain_s=0.1,
                 folder=tmp_path / "w")
    alerts = [fake_alert(i) for i in range(6)]
    for a in alerts:
        box.put(a)
    counts = box.close()
    # one is in flight (or was) when the others arrive; at most capacity + 1 survive
    assert counts["produced"] == 6 and counts["sent"] == 0
    assert counts["dropped"] + counts["pending"] == 6 and counts["dropped"] >= 2
    kept = sorted(p.name for p in (tmp_path / "w").glob("*.json"))
    assert len(kept) == counts["pending"]
    assert any(alerts[-1].id in name for name in kept)  # the newest survives
    assert not any(alerts[1].id in name for name in kept)  # an old queued one went first
