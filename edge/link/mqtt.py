"""A thin paho-mqtt 2.x connection with an event inbox, shared by the edge link and the cloud.

paho runs its network loop in its own thread and calls back from there. Everything the callbacks
see is put on a `queue.Queue` tagged with a generation number, so the owner (one thread that holds
the SQLite connection) handles connects, drops and messages in order, and ignores what a previous
connection left behind. One `Connection` is one TCP session: it never reconnects by itself (the
owner decides when, with back-off), so nothing is queued in paho's memory across a drop.
"""

from __future__ import annotations

import itertools
import logging
import queue
import ssl
import threading
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

log = logging.getLogger(__name__)
_generations = itertools.count(1)


@dataclass(frozen=True)
class BrokerAddress:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 30
    tls: bool = False
    # TLS with client certificates (production): the CA that signed the broker's certificate,
    # and this client's certificate and key (its CN is its MQTT user name on the broker).
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    # "5" (MQTT v5, the default) or "3.1.1" for a broker that does not speak v5. The edge link
    # falls back to 3.1.1 by itself when a broker refuses v5 (`EdgeLink`).
    protocol: str = "5"


@dataclass(frozen=True)
class Event:
    """Something that happened on a connection: connected, subscribed, message, down."""

    kind: str  # "connected", "refused", "subscribed", "message", "down"
    generation: int
    topic: str = ""
    payload: bytes = b""
    reason: str = ""


class Connection:
    """One MQTT v5 session to the broker; events arrive on `inbox`."""

    def __init__(
        self,
        address: BrokerAddress,
        inbox: queue.Queue[Event],
        *,
        client_id: str,
        will: tuple[str, bytes] | None = None,
    ):
        self.generation = next(_generations)
        self.inbox = inbox
        gen = self.generation
        self.v5 = address.protocol != "3.1.1"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if self.v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if self.v5 else True,
            reconnect_on_failure=False,
        )
        if address.username:
            client.username_pw_set(address.username, address.password)
        # A certificate or key that cannot be loaded (not PEM, key not matching) must not kill
        # the owner's thread: `start()` reports it as a drop, and the owner retries with back-off.
        self._setup_error: str | None = None
        if address.tls:
            try:
                client.tls_set(
                    ca_certs=address.ca_file, certfile=address.cert_file, keyfile=address.key_file
                )
            except (ssl.SSLError, OSError) as exc:
                files = ", ".join(
                    f for f in (address.ca_file, address.cert_file, address.key_file) if f
                )
                self._setup_error = f"TLS setup failed ({files}): {exc}"
        if will is not None:
            client.will_set(will[0], will[1], qos=1, retain=True)
        client.max_inflight_messages_set(200)
        client.max_queued_messages_set(0)

        def on_connect(_c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
            kind = "refused" if reason.is_failure else "connected"
            inbox.put(Event(kind, gen, reason=str(reason)))

        def on_connect_fail(_c: Any, _u: Any) -> None:
            inbox.put(Event("down", gen, reason="connect failed"))

        def on_disconnect(_c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
            inbox.put(Event("down", gen, reason=str(reason)))

        def on_subscribe(_c: Any, _u: Any, _mid: Any, reasons: Any, _props: Any) -> None:
            failed = [str(r) for r in reasons if r.is_failure]
            if failed:
                inbox.put(Event("down", gen, reason="subscribe refused: " + ", ".join(failed)))
            else:
                inbox.put(Event("subscribed", gen))

        def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
            inbox.put(Event("message", gen, topic=message.topic, payload=bytes(message.payload)))

        client.on_connect = on_connect
        client.on_connect_fail = on_connect_fail
        client.on_disconnect = on_disconnect
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        self.client = client
        self.address = address
        self._started = False

    def start(self) -> None:
        """Begin connecting (non-blocking); a `connected`, `refused` or `down` event follows."""
        if self._setup_error is not None:
            self.inbox.put(Event("down", self.generation, reason=self._setup_error))
            return
        try:
            if self.v5:
                self.client.connect_async(
                    self.address.host, self.address.port, self.address.keepalive_s, clean_start=True
                )
            else:
                self.client.connect_async(
                    self.address.host, self.address.port, self.address.keepalive_s
                )
            self.client.loop_start()
            self._started = True
        except OSError as exc:
            self.inbox.put(Event("down", self.generation, reason=f"connect: {exc}"))

    def subscribe(self, topics: list[str], qos: int = 1) -> None:
        self.client.subscribe([(t, qos) for t in topics])

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> bool:
        """Hand a message to paho; False when the connection is already gone."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def close(self) -> None:
        """Disconnect cleanly (no last will) and stop the network thread."""
        if not self._started:
            return
        try:
            self.client.disconnect()
        except Exception:  # a dead socket: nothing more to say to the broker
            log.debug("disconnect failed", exc_info=True)
        self.client.loop_stop()
        self._started = False


class InboxWorker:
    """The thread life cycle shared by the edge link and the cloud's ingest workers: one thread
    runs `run()`, serving a paho connection whose callbacks post `Event`s to `inbox`."""

    thread_name = "mqtt-worker"

    def _init_worker(self) -> None:
        self.inbox: queue.Queue[Event] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()  # set while connected and subscribed

    def run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.inbox.put(Event("wake", 0))
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_ready(self, timeout: float) -> bool:
        """Block until connected and subscribed (tests, demo)."""
        return self._ready.wait(timeout)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()
