"""Value types of the recorded-session format v1 (docs/session-format.md).

Plain frozen dataclasses with slots: a ten-minute busy session holds ~100k person rows, and
building a pydantic model per row would dominate reading time. The writer checks values on the
way in; the reader checks structure while parsing and raises SessionError naming file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "CAMERA_BOX_CLASSES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "PUSH_KINDS",
    "READ_EVENTS",
    "READ_KINDS",
    "STREAM_KIND_CAMERA",
    "STREAM_KIND_PUSHES",
    "STREAM_KIND_READS",
    "STREAM_KIND_SHELF",
    "STREAM_KIND_TRACKS",
    "WSR_HEADER",
    "WSR_RECORD_HEADER_SIZE",
    "CameraBox",
    "CameraTruthFrame",
    "CameraTruthInfo",
    "ConfigPush",
    "GroundTruth",
    "Manifest",
    "PersonObs",
    "Read",
    "StreamInfo",
    "TrackFrame",
    "TruthAction",
    "TruthInfo",
    "TruthReceipt",
    "TruthReceiptLine",
    "TruthVisit",
]

FORMAT_NAME = "walkout-session"
FORMAT_VERSION = 1

# "walkout serial recording", format 1; the four zero bytes are reserved (flags, must be 0).
WSR_HEADER = b"WSR1\x00\x00\x00\x00"
WSR_RECORD_HEADER_SIZE = 12  # <d t, <I length

STREAM_KIND_SHELF = "shelf-serial"
STREAM_KIND_READS = "reads"
STREAM_KIND_TRACKS = "person-tracks"
STREAM_KIND_CAMERA = "camera-video"  # MJPG .avi + frames.csv per camera (docs/session-format.md)
STREAM_KIND_PUSHES = "config-pushes"  # pushed config the core took as an input
PUSH_KINDS = ("planogram", "price_book")
CAMERA_BOX_CLASSES = ("person", "hand")

READ_KINDS = ("card", "tag")
READ_EVENTS = ("insert", "remove")

ReadKind = Literal["card", "tag"]
ReadEvent = Literal["insert", "remove"]
Hand = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class ConfigPush:
    """A signed config push the core took as an input at ``t`` (seconds since session start).

    ``kind`` "planogram" or "price_book": ``payload`` is the serialized ``walkout.v1.Planogram``
    or ``walkout.v1.PriceBook`` exactly as the cloud signed it (its signature was checked by the
    live edge before it was recorded); ``version`` and ``effective_from_unix_ns`` repeat its
    fields for people reading the file.
    """

    t: float
    kind: str
    version: int
    effective_from_unix_ns: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Read:
    """One PC/SC presence event at a reader.

    ``t`` is seconds since session start; ``kind`` "card" is a shopper's card or phone, "tag" an
    RFID tag on an item; a tap is an "insert" followed by a "remove" of the same uid.
    """

    t: float
    reader: str
    kind: ReadKind
    uid: str
    event: ReadEvent


@dataclass(frozen=True, slots=True)
class PersonObs:
    """One person in one frame: floor position (metres) and 0 to 2 hands (x, y, z metres; z is
    the hand's height above the floor). ``id`` is a track id, or a true person id in truth."""

    id: int
    x: float
    y: float
    hands: tuple[Hand, ...] = ()


@dataclass(frozen=True, slots=True)
class TrackFrame:
    """Everyone seen at time ``t`` (seconds since session start)."""

    t: float
    people: tuple[PersonObs, ...] = ()


@dataclass(frozen=True, slots=True)
class TruthVisit:
    """One shopper's true visit. ``group_of`` is the visit id of the member who tapped, for a
    group entering on one tap; ``exit_t`` is None if the shopper had not left at the end."""

    visit_id: str
    person_id: int
    card_uid: str | None
    account: str | None
    group_of: str | None
    entry_t: float
    exit_t: float | None


@dataclass(frozen=True, slots=True)
class TruthAction:
    """One true pick, put or hand-over: hand in at ``t_start``, out at ``t_end``, shelf settled at
    ``t_settled`` (seconds). ``plates`` are "gondola.shelf.plate" refs. ``to_visit_id`` is set
    when the item was handed to another visit's shopper (optional, may be None)."""

    t_start: float
    t_end: float
    t_settled: float
    visit_id: str
    person_id: int
    kind: Literal["pick", "put", "handoff"]
    product_id: str
    quantity: int
    plates: tuple[str, ...]
    hand: Literal["left", "right"]
    to_visit_id: str | None = None


@dataclass(frozen=True, slots=True)
class TruthReceiptLine:
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class TruthReceipt:
    """The receipt a visit should get: one line per product, quantity in units."""

    visit_id: str
    lines: tuple[TruthReceiptLine, ...]


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """What really happened in a session (simulator output, or labels of a real recording)."""

    visits: tuple[TruthVisit, ...] = ()
    actions: tuple[TruthAction, ...] = ()
    receipts: tuple[TruthReceipt, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """One stream listed in the manifest: a file of records with its size and sha256.

    ``port``/``protocol`` are set for shelf-serial streams, ``rate_hz`` for person tracks.
    ``extra`` keeps any other manifest keys of the stream (kind-specific or from a newer writer).
    """

    name: str
    kind: str
    path: str
    records: int
    bytes: int
    sha256: str
    port: str | None = None
    protocol: str | None = None
    rate_hz: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CameraTruthInfo:
    """Where one camera's ground-truth boxes live (truth/cameras/<id>.boxes.jsonl)."""

    camera: str
    path: str
    records: int
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class TruthInfo:
    """Where the ground truth lives, with sizes and hashes; positions and cameras are optional."""

    path: str
    bytes: int
    sha256: str
    positions: str | None = None
    positions_records: int | None = None
    positions_bytes: int | None = None
    positions_sha256: str | None = None
    cameras: tuple[CameraTruthInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class CameraBox:
    """One object in one camera frame: ``cls`` "person" (head, shoulders, torso, legs seen from
    above) or "hand"; ``box`` (x1, y1, x2, y2) pixels, the tight box of its visible pixels;
    ``visible`` the fraction of its silhouette that is visible (0-1]; ``side`` for hands."""

    cls: str
    person_id: int
    box: tuple[float, float, float, float]
    visible: float
    side: str | None = None


@dataclass(frozen=True, slots=True)
class CameraTruthFrame:
    """The true boxes of one recorded camera frame (``frame_index`` as in frames.csv)."""

    frame_index: int
    t: float
    boxes: tuple[CameraBox, ...] = ()


@dataclass(frozen=True, slots=True)
class Manifest:
    """The parsed manifest.json of a complete session."""

    format: str
    version: int
    session_id: str
    store_id: str
    created_by: str
    start_time_unix: float
    duration_s: float
    config: str
    config_bytes: int
    config_sha256: str
    streams: tuple[StreamInfo, ...]
    truth: TruthInfo | None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def streams_of_kind(self, kind: str) -> list[StreamInfo]:
        return [s for s in self.streams if s.kind == kind]
