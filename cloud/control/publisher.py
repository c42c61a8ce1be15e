"""Publishing signed config bundles retained on the stores' config topics (docs/mqtt.md).

One MQTT session, opened lazily and reopened after a drop. `publish` waits for the broker's
PUBACK: a bundle counts as pushed only once the broker holds it as the topic's retained message.
"""

from __future__ import annotations

import logging
import os
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.link.mqtt import BrokerAddress

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """The broker did not take a message; the message says which topic and why."""


class RetainedPublisher:
    """Retained QoS 1 publishes to one broker."""

    def __init__(self, address: BrokerAddress, *, timeout_s: float = 10.0):
        self.address = address
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._client: mqtt.Client | None = None

    def _connect(self) -> mqtt.Client:
        a = self.address
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"walkout-control-{os.getpid()}",
            protocol=MQTTProtocolVersion.MQTTv5
            if a.protocol != "3.1.1"
            else MQTTProtocolVersion.MQTTv311,
        )
        if a.username:
            client.username_pw_set(a.username, a.password)
        if a.tls:
            client.tls_set(ca_certs=a.ca_file, certfile=a.cert_file, keyfile=a.key_file)
        connected = threading.Event()
        client.on_connect = lambda *_args: connected.set()
        try:
            client.connect(a.host, a.port, a.keepalive_s)
        except OSError as exc:
            raise PublishError(f"broker {a.host}:{a.port}: {exc}") from None
        client.loop_start()
        if not connected.wait(self.timeout_s) or not client.is_connected():
            client.loop_stop()
            raise PublishError(f"broker {a.host}:{a.port}: no CONNACK within {self.timeout_s} s")
        return client

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish retained at QoS 1 and wait for the PUBACK; PublishError otherwise."""
        with self._lock:
            if self._client is None or not self._client.is_connected():
                self.close_locked()
                self._client = self._connect()
            info = self._client.publish(topic, payload, qos=1, retain=True)
            try:
                info.wait_for_publish(self.timeout_s)
            except (RuntimeError, ValueError) as exc:
                raise PublishError(f"{topic}: {exc}") from None
            if not info.is_published():
                raise PublishError(f"{topic}: no PUBACK within {self.timeout_s} s")
            log.info("published retained %d bytes on %s", len(payload), topic)

    def close_locked(self) -> None:
        if self._client is not None:
            try:
                self._client.disconnect()
            finally:
                self._client.loop_stop()
                self._client = None

    def close(self) -> None:
        with self._lock:
            self.close_locked()
