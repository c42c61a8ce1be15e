"""Validation of one incoming MQTT message: a well-formed, authorised walkout.v1 EdgeEvent or a
named rejection. Pure: no I/O, so every rule is tested with a table."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError
from walkout.v1 import events_pb2

from edge.link import topics

MAX_PAYLOAD_BYTES = 256 * 1024  # a receipt with evidence is a few kB; anything this big is abuse

# Which body case belongs to which stream (docs/wire-schema.md).
STREAM_OF_BODY = {
    "visit_started": "visits",
    "visit_ended": "visits",
    "shelf_event": "shelf",
    "cart_line_added": "cart",
    "cart_line_removed": "cart",
    "receipt": "receipts",
    "sensor_fault": "faults",
    "heartbeat": "heartbeats",
    "evidence_clip": "evidence",
}


@dataclass(frozen=True)
class Rejection:
    reason: str  # short, stable: used as a counter name
    detail: str  # for the log: what exactly was wrong


@dataclass(frozen=True)
class Incoming:
    """A message that passed validation."""

    store_id: str
    kind: str  # "events" or "heartbeat"
    stream: str
    body: str  # EdgeEvent body case
    event: events_pb2.EdgeEvent
    payload: bytes


def validate(
    topic: str,
    payload: bytes,
    *,
    allowed_stores: frozenset[str] | None = None,
    prefix: str = topics.PREFIX,
    max_bytes: int = MAX_PAYLOAD_BYTES,
) -> Incoming | Rejection:
    """Check an events or heartbeat message; `allowed_stores` None accepts any store."""
    parsed = topics.parse(topic, prefix)
    if parsed is None or parsed[1] not in ("events", "heartbeat"):
        return Rejection("bad_topic", f"topic {topic!r} is not an edge event topic")
    store_id, kind, stream = parsed
    if allowed_stores is not None and store_id not in allowed_stores:
        return Rejection("unauthorised", f"store {store_id!r} on {topic!r} is not registered")
    if len(payload) > max_bytes:
        return Rejection("oversized", f"{len(payload)} bytes on {topic!r} (limit {max_bytes})")
    try:
        event = events_pb2.EdgeEvent.FromString(payload)
    except DecodeError as exc:
        return Rejection("malformed", f"{topic!r}: not a walkout.v1.EdgeEvent ({exc})")
    header = event.header
    body = event.WhichOneof("body")
    if not event.HasField("header") or not header.event_id:
        return Rejection("malformed", f"{topic!r}: header.event_id is empty")
    if len(header.event_id) > 64:
        return Rejection("malformed", f"{topic!r}: header.event_id longer than 64 characters")
    if body is None:
        return Rejection("malformed", f"{topic!r}: event {header.event_id} has no body")
    if header.store_id != store_id:
        # A store may only speak for itself (the broker's ACL pins each store to its topics).
        return Rejection(
            "unauthorised",
            f"{topic!r}: event {header.event_id} claims store {header.store_id!r}",
        )
    expected_stream = "heartbeats" if kind == "heartbeat" else stream
    if header.stream != expected_stream or STREAM_OF_BODY[body] != expected_stream:
        return Rejection(
            "malformed",
            f"{topic!r}: event {header.event_id} is a {body} on stream {header.stream!r}",
        )
    if header.sequence < 1:
        return Rejection("malformed", f"{topic!r}: event {header.event_id} has no sequence")
    if body == "evidence_clip" and not event.evidence_clip.receipt_id:
        # A clip is only ever looked up by its receipt: one without is useless evidence.
        return Rejection(
            "malformed", f"{topic!r}: evidence clip {header.event_id} names no receipt_id"
        )
    return Incoming(store_id, kind, expected_stream, body, event, payload)
