"""MQTT over TLS with a private CA and a client certificate, against a real TLS listener.

The listener is Python's ``ssl`` on 127.0.0.1 requiring a client certificate signed by a CA
made here with the ``openssl`` command: it records the certificate the worker presented and
the first MQTT packet that came through the tunnel (a CONNECT, type 0x10).
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from engine.errors import UsageError
from tests.engine.alerts.servers import wait_for

pytest.importorskip("paho.mqtt.client")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
             "-subj", "/CN=test-ca", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, cn in (("server", "127.0.0.1"), ("client", "deepscreen-worker")):
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={cn}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "1",
                 "-extfile", "san.ext", cwd=d)
    return d


class TlsListener:
    """Accepts TLS connections that present a client certificate of the test CA."""

    def __init__(self, pki: Path) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki / "server.crt", pki / "server.key")
        ctx.load_verify_locations(pki / "ca.crt")
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.peers: list[str] = []
        self.first_bytes: list[bytes] = []
        self.refused = 0
        self._ctx = ctx
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                tls = self._ctx.wrap_socket(conn, server_side=True)
                cert = tls.getpeercert()
                self.peers.append(dict(x[0] for x in cert["subject"])["commonName"])
                tls.settimeout(5)
                self.first_bytes.append(tls.recv(1))
                tls.close()
            except (ssl.SSLError, OSError):
                self.refused += 1
                conn.close()

    def close(self) -> None:
        self.sock.close()


def test_client_certificate_and_private_ca(pki) -> None:
    from engine.alerts.mqtt import MqttTls, MqttTransport

    listener = TlsListener(pki)
    tls = MqttTls(ca_file=pki / "ca.crt", cert_file=pki / "client.crt",
                  key_file=pki / "client.key")
    transport = MqttTransport(f"mqtts://127.0.0.1:{listener.port}/ds", tls=tls)
    try:
        assert wait_for(lambda: listener.first_bytes, timeout=15)
    finally:
        transport.client.disconnect()
        transport.client.loop_stop()
        listener.close()
    assert listener.peers[0] == "deepscreen-worker"
    assert listener.first_bytes[0] == b"\x10"  # MQTT CONNECT, inside the verified tunnel


def test_without_the_client_certificate_the_broker_refuses(pki) -> None:
    from engine.alerts.mqtt import MqttTls, MqttTransport

    listener = TlsListener(pki)
    transport = MqttTransport(f"mqtts://127.0.0.1:{listener.port}/ds",
                              tls=MqttTls(ca_file=pki / "ca.crt"))
    try:
        assert wait_for(lambda: listener.refused >= 1, timeout=15)
    finally:
        transport.client.disconnect()
        transport.client.loop_stop()
        listener.close()
    assert listener.peers == [] and not transport.connected


def test_tls_files_are_checked_at_start(pki, tmp_path) -> None:
    from engine.alerts.mqtt import MqttTls, MqttTransport

    with pytest.raises(UsageError, match="mqtts://"):
        MqttTransport("mqtt://127.0.0.1:1883/ds", tls=MqttTls(ca_file=pki / "ca.crt"))
    with pytest.raises(UsageError, match="not a readable CA file"):
        MqttTransport("mqtts://127.0.0.1:8883/ds", tls=MqttTls(ca_file=tmp_path / "none"))
    with pytest.raises(UsageError, match="cannot load the client certificate"):
        MqttTransport("mqtts://127.0.0.1:8883/ds",
                      tls=MqttTls(cert_file=pki / "client.crt", key_file=pki / "server.key"))
    with pytest.raises(UsageError, match="needs --mqtt-cert"):
        MqttTransport("mqtts://127.0.0.1:8883/ds", tls=MqttTls(key_file=pki / "client.key"))
