"""The MQTT topic tree `walkout/v1/<store>/...` (docs/mqtt.md), shared by the edge and the cloud."""

from __future__ import annotations

import re

PREFIX = "walkout/v1"
# Store ids and stream names become topic levels: no wildcards, separators or control characters.
_LEVEL = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

AVAILABILITY_ONLINE = b"online"
AVAILABILITY_OFFLINE = b"offline"
INGEST_GROUP = "walkout-ingest"


def valid_level(name: str) -> bool:
    """True when `name` can be one topic level (a store id or a stream name)."""
    return bool(_LEVEL.match(name))


def events(store: str, stream: str, prefix: str = PREFIX) -> str:
    """Edge -> cloud: EdgeEvents of one stream (QoS 1)."""
    return f"{prefix}/{store}/events/{stream}"


def heartbeat(store: str, prefix: str = PREFIX) -> str:
    """Edge -> cloud: EdgeEvent with a Heartbeat body (QoS 1, retained: the last state)."""
    return f"{prefix}/{store}/heartbeat"


def availability(store: str, prefix: str = PREFIX) -> str:
    """Edge -> anyone: retained `online` / `offline` (the last will) as plain ASCII."""
    return f"{prefix}/{store}/availability"


def ack(store: str, prefix: str = PREFIX) -> str:
    """Cloud -> edge: walkout.v1.Ack after the events are committed in the database (QoS 1)."""
    return f"{prefix}/{store}/ack"


def ingest_subscriptions(prefix: str = PREFIX, group: str = INGEST_GROUP) -> list[str]:
    """What every ingest worker subscribes to. Events and heartbeats go through a shared
    subscription (each message to one worker of the group); availability is retained, and
    retained messages are never sent on shared subscriptions, so every worker reads it."""
    return [
        f"$share/{group}/{prefix}/+/events/+",
        f"$share/{group}/{prefix}/+/heartbeat",
        f"{prefix}/+/availability",
    ]


def parse(topic: str, prefix: str = PREFIX) -> tuple[str, str, str] | None:
    """Split an incoming topic into (store, kind, stream); kind is events, heartbeat,
    availability or ack, stream is empty except for events. None when the topic is not ours."""
    if not topic.startswith(prefix + "/"):
        return None
    parts = topic[len(prefix) + 1 :].split("/")
    if len(parts) == 3 and parts[1] == "events" and valid_level(parts[0]) and valid_level(parts[2]):
        return parts[0], "events", parts[2]
    if (
        len(parts) == 2
        and parts[1] in ("heartbeat", "availability", "ack")
        and valid_level(parts[0])
    ):
        return parts[0], parts[1], ""
    return None
