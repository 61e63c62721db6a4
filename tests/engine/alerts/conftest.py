from __future__ import annotations

import pytest

from tests.engine.alerts.servers import Mosquitto, Receiver


@pytest.fixture
def broker(tmp_path):
    pytest.importorskip("paho.mqtt.client")
    b = Mosquitto(tmp_path).start()
    yield b
    b.kill()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()
