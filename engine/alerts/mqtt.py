"""MQTT transport (paho-mqtt, the ``alerts`` extra): retained state and events, Frigate style.

Topics under the prefix of ``mqtt://host:1883/PREFIX`` (docs/ALERTS.md has the payloads):

``PREFIX/available``          ``online`` / ``offline`` (retained; ``offline`` is the last will)
``PREFIX/events``             JSON verdict changes and fake-track alerts (not retained)
``PREFIX/STREAM/verdict``     the stream's verdict as plain text (retained)
``PREFIX/STREAM/state``       JSON per-stream state, periodic (retained)
``PREFIX/STREAM/snapshot``    JPEG of the latest fake face (retained)

QoS 1. paho's network thread reconnects by itself (1 s doubling to 30 s) and resends
unacknowledged messages after a reconnect; an alert counts as sent once the broker has
acknowledged every message it maps to.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from engine.alerts.alert import FAKE_TRACK, STATE, VERDICT, Alert, node_name, topic_name
from engine.alerts.credentials import MQTT_KEY_PASSWORD, MQTT_PASSWORD, MQTT_USERNAME, secret
from engine.errors import BackendUnavailable, UsageError

log = logging.getLogger("engine.alerts.mqtt")

DEFAULT_PREFIX = "deepscreen"
HA_PREFIX = "homeassistant"


def parse_mqtt_url(url: str) -> dict:
    """``mqtt[s]://[user[:password]@]host[:port][/prefix]`` -> connection settings.

    Credentials in the URL work but end up in process listings and shell history: prefer
    $DEEPSCREEN_MQTT_USERNAME / $DEEPSCREEN_MQTT_PASSWORD (or their ``_FILE`` forms).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise UsageError("--mqtt takes mqtt://HOST[:PORT][/PREFIX] (or mqtts:// for TLS)")
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError as exc:
        raise UsageError("--mqtt: the port is not a number in 1-65535") from exc
    prefix = parts.path.strip("/") or DEFAULT_PREFIX
    if any(c in prefix for c in "+#") or "#" in url:  # urlsplit reads '#...' as a fragment
        raise UsageError("--mqtt: the topic prefix cannot contain '+' or '#'")
    return {
        "host": parts.hostname, "port": port, "prefix": prefix,
        "tls": parts.scheme == "mqtts",
        "username": unquote(parts.username) if parts.username else secret(MQTT_USERNAME),
        "password": unquote(parts.password) if parts.password else secret(MQTT_PASSWORD),
    }


@dataclass(frozen=True)
class MqttTls:
    """TLS files for an ``mqtts://`` broker (all optional; paths, not secrets).

    Attributes:
        ca_file: CA certificates that sign the broker's certificate (default: the system's).
        cert_file: this worker's client certificate (brokers with ``require_certificate``).
        key_file: its private key (omit when ``cert_file`` holds it too); an encrypted key
            takes its password from $DEEPSCREEN_MQTT_KEY_PASSWORD (or ``_FILE``).
    """

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @property
    def given(self) -> bool:
        return any((self.ca_file, self.cert_file, self.key_file))

    def context(self) -> ssl.SSLContext:
        """A verifying client context, built at start so that a bad file is a usage error."""
        if self.key_file and not self.cert_file:
            raise UsageError("--mqtt-key needs --mqtt-cert")
        try:
            ctx = ssl.create_default_context(
                cafile=str(self.ca_file) if self.ca_file else None)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"--mqtt-ca {self.ca_file}: not a readable CA file "
                             f"({getattr(exc, 'strerror', None) or exc})") from None
        if self.cert_file:
            password = secret(MQTT_KEY_PASSWORD) or ""
            try:
                # A callable password: OpenSSL never prompts on the terminal of a service.
                ctx.load_cert_chain(str(self.cert_file),
                                    str(self.key_file) if self.key_file else None,
                                    password=lambda: password)
            except (OSError, ssl.SSLError) as exc:
                raise UsageError(f"--mqtt-cert {self.cert_file}: cannot load the client "
                                 f"certificate and key ({type(exc).__name__})") from None
        return ctx


class MqttTransport:
    """Publish alerts to one broker.

    Args:
        url: ``mqtt://host:port/prefix`` (see :func:`parse_mqtt_url`).
        ha_discovery: also publish Home Assistant MQTT discovery configs (retained) on connect.
        ack_timeout_s: how long one delivery attempt waits for the broker's acknowledgements.
        client_id: MQTT client id (default ``deepscreen-<node>``).
        tls: CA / client certificate files (``mqtts://`` only).
    """

    name = "mqtt"

    def __init__(self, url: str, ha_discovery: bool = False, ack_timeout_s: float = 5.0,
                 client_id: str | None = None, tls: MqttTls | None = None) -> None:
        try:
            import paho.mqtt.client as paho
        except ImportError as exc:
            raise BackendUnavailable(
                "--mqtt needs paho-mqtt: pip install 'deepscreen[alerts]'") from exc
        cfg = parse_mqtt_url(url)
        tls = tls or MqttTls()
        if tls.given and not cfg["tls"]:
            raise UsageError("--mqtt-ca/--mqtt-cert/--mqtt-key need an mqtts:// broker URL")
        context = tls.context() if cfg["tls"] else None
        self.host, self.port, self.prefix = cfg["host"], cfg["port"], cfg["prefix"]
        self.node = node_name()
        self.ha_discovery = ha_discovery
        self.ack_timeout_s = ack_timeout_s
        self.streams: list[str] = []
        # A stream's topic levels under the prefix when its config names one (alert_topic),
        # else its name made topic-safe.
        self.stream_topics: dict[str, str] = {}
        self.connects = 0
        self._connected = threading.Event()
        self._acked: set[int] = set()
        self._ack_cond = threading.Condition()
        self._current: tuple[Alert, list[int]] | None = None
        self._paho = paho
        client = paho.Client(paho.CallbackAPIVersion.VERSION2,
                             client_id=client_id or f"deepscreen-{self.node}",
                             protocol=paho.MQTTv311)
        if cfg["username"]:
            client.username_pw_set(cfg["username"], cfg["password"])
        if context is not None:
            client.tls_set_context(context)  # verifies the broker's certificate and name
        client.will_set(self.topic("available"), "offline", qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self.client = client
        # connect_async + loop_start: the first connection is retried like later ones, so a
        # broker that is not up yet delays alerts, never the screening.
        client.connect_async(self.host, self.port, keepalive=30)
        client.loop_start()

    # ------------------------------------------------------------- topics
    def topic(self, *levels: str) -> str:
        return "/".join((self.prefix, *levels))

    def stream_topic(self, stream: str) -> str:
        """The topic levels of one stream under the prefix."""
        return self.stream_topics.get(stream) or topic_name(stream)

    def messages(self, alert: Alert) -> list[tuple[str, bytes, bool]]:
        """The (topic, payload, retain) messages one alert maps to."""
        stream = self.stream_topic(alert.stream)
        body = json.dumps(alert.payload, separators=(",", ":")).encode()
        if alert.kind == STATE:
            return [(self.topic(stream, "state"), body, True)]
        out = [(self.topic("events"), body, False)]
        if alert.kind == VERDICT:
            out.append((self.topic(stream, "verdict"), alert.payload["verdict"].encode(), True))
        elif alert.kind == FAKE_TRACK and alert.snapshot:
            out.append((self.topic(stream, "snapshot"), alert.snapshot, True))
        return out

    def discovery(self) -> list[tuple[str, bytes]]:
        """Home Assistant MQTT discovery configs: per stream a binary sensor, a score, a camera."""
        device = {"identifiers": [f"deepscreen_{topic_name(self.node)}"],
                  "name": f"deepscreen {self.node}", "manufacturer": "deepscreen",
                  "model": "deepscreen screen"}
        node = topic_name(f"deepscreen_{self.node}")
        out = []
        for name in self.streams:
            s = topic_name(name)
            common = {"availability_topic": self.topic("available"), "device": device}
            state = self.topic(self.stream_topic(name), "state")
            configs = {
                ("binary_sensor", "fake"): {
                    "name": f"{name} deepfake", "device_class": "problem",
                    "state_topic": state, "json_attributes_topic": state,
                    "value_template": "{{ 'ON' if value_json.verdict == 'fake' else 'OFF' }}",
                },
                ("sensor", "p_fake"): {
                    "name": f"{name} p_fake", "state_topic": state,
                    "state_class": "measurement",
                    "value_template": "{{ value_json.p_fake if value_json.p_fake is not none "
                                      "else 'unknown' }}",
                },
                ("camera", "snapshot"): {
                    "name": f"{name} fake face",
                    "topic": self.topic(self.stream_topic(name), "snapshot"),
                },
            }
            for (component, what), cfg in configs.items():
                cfg.update(common, unique_id=f"{node}_{s}_{what}")
                topic = f"{HA_PREFIX}/{component}/{node}/{s}_{what}/config"
                out.append((topic, json.dumps(cfg, separators=(",", ":")).encode()))
        return out

    # ------------------------------------------------------------ transport
    def open(self, streams: list[str]) -> None:
        """The run's streams (for the discovery configs, published on every connect)."""
        self.streams = list(streams)
        if self._connected.is_set():
            self._announce(self.client)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def deliver(self, alert: Alert) -> bool:
        if not self._connected.wait(self.ack_timeout_s):
            return False
        if self._current is None or self._current[0] is not alert:
            # A retry of the same alert waits for the messages already handed to paho: it
            # resends them itself after a reconnect, so publishing again would duplicate them.
            with self._ack_cond:
                self._acked.clear()  # acks of earlier alerts and announcements: not needed
            mids = []
            for topic, payload, retain in self.messages(alert):
                info = self.client.publish(topic, payload, qos=1, retain=retain)
                mids.append(info.mid)
            self._current = (alert, mids)
        mids = self._current[1]
        with self._ack_cond:
            done = self._ack_cond.wait_for(lambda: all(m in self._acked for m in mids),
                                           timeout=self.ack_timeout_s)
            if done:
                self._acked.difference_update(mids)
                self._current = None
        return done

    def close(self) -> None:
        if self._connected.is_set():
            info = self.client.publish(self.topic("available"), "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(2.0)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()

    # ------------------------------------------------------------ callbacks
    def _announce(self, client) -> None:
        client.publish(self.topic("available"), "online", qos=1, retain=True)
        if self.ha_discovery:
            for topic, payload in self.discovery():
                client.publish(topic, payload, qos=1, retain=True)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("mqtt %s:%d refused the connection: %s", self.host, self.port,
                        reason_code)
            return
        self.connects += 1
        log.info("mqtt connected to %s:%d (prefix %s)", self.host, self.port, self.prefix)
        self._announce(client)
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self._connected.is_set():
            log.warning("mqtt %s:%d disconnected (%s); reconnecting", self.host, self.port,
                        reason_code)
        self._connected.clear()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._ack_cond:
            self._acked.add(mid)
            self._ack_cond.notify_all()
