"""Pydantic v2 models of the store config (format version 1).

Every model forbids unknown keys so a typo fails loudly, and every field carries a description
that ends up in `walkout config schema`. Cross-references (planogram to plates and products,
unique ids) are checked in `edge.config.checks`, which reports the exact key path of each problem.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CONFIG_FORMAT_VERSION = 1

PLATE_REF_PATTERN = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


PositiveMetres = Annotated[float, Field(gt=0, description="A length in metres, greater than 0.")]
Point2 = Annotated[
    tuple[float, float], Field(description="A point on the store floor: [x, y] in metres.")
]


class StoreInfo(StrictModel):
    id: str = Field(
        description="Store id, unique in the fleet; used in MQTT topics and receipt ids.",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
    )
    name: str = Field(description="Human-readable store name shown on dashboards.")
    currency: str = Field(
        default="EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 currency of all prices."
    )
    timezone: str = Field(
        default="UTC", description="IANA time zone of the store, for reports and opening hours."
    )


class FloorPlan(StrictModel):
    width_m: PositiveMetres = Field(description="Floor extent along x, metres.")
    depth_m: PositiveMetres = Field(description="Floor extent along y, metres.")


class PlateCalibration(StrictModel):
    offset_counts: int = Field(
        description="Raw ADC counts the plate reads when empty (tare).",
    )
    grams_per_count: float = Field(
        gt=0,
        description="Span: grams per raw ADC count. grams = (counts - offset_counts) * span.",
    )


class Plate(StrictModel):
    id: int = Field(ge=1, description="Plate number on its shelf, 1-based, left to right.")
    width_m: float | None = Field(
        default=None,
        gt=0,
        description="Plate width along the gondola in metres; omitted: the shelf length is "
        "split evenly over plates without a width.",
    )
    capacity_g: float = Field(
        default=20000.0, gt=0, description="Rated load of the plate's load cell, grams."
    )
    calibration: PlateCalibration = Field(description="Tare and span of this plate's load cell.")


class WalkoutLc1Controller(StrictModel):
    """A load-cell board speaking the walkout-lc1 serial protocol (docs/shelf-protocol.md) over
    pyserial: driver type ``serial-walkout-lc1``."""

    type: Literal["serial-walkout-lc1"] = Field(
        description="Shelf controller driver type (the plugin that reads it)."
    )
    protocol: Literal["walkout-lc1"] = Field(
        default="walkout-lc1",
        description="Serial protocol of the shelf board (implied by the type; older configs "
        "gave only this).",
    )
    port: str = Field(
        min_length=1,
        description="pyserial port or URL: /dev/ttyUSB0, /dev/serial/by-id/..., "
        "socket://host:port, loop://",
    )
    baud: int = Field(default=115200, gt=0, description="Serial line speed, bits per second.")
    board_id: int = Field(ge=0, le=255, description="Board id the controller puts in each frame.")
    rate_hz: float = Field(default=60.0, gt=0, le=1000, description="Samples per second per plate.")
    samples_per_frame: int = Field(
        default=6,
        ge=1,
        le=64,
        description="Samples the board batches into one frame; latency grows with it.",
    )


ShelfController = Annotated[WalkoutLc1Controller, Field(discriminator="type")]
CONTROLLER_TYPES = ("serial-walkout-lc1",)
CONTROLLER_PROTOCOLS = ("walkout-lc1",)
# Configs written before driver types were typed plugins name the protocol only.
_LEGACY_CONTROLLER_TYPES = {"walkout-lc1": "serial-walkout-lc1"}


class Shelf(StrictModel):
    id: int = Field(ge=1, description="Shelf number on its gondola, 1-based, bottom to top.")
    height_m: float = Field(ge=0, description="Height of the shelf surface above the floor, m.")
    controller: ShelfController = Field(description="The load-cell board that reads this shelf.")
    plates: list[Plate] = Field(min_length=1, description="Weight plates on this shelf.")

    @field_validator("controller", mode="before")
    @classmethod
    def _legacy_controller(cls, value: Any) -> Any:
        # An older config names only the protocol: its driver type is implied. A missing or
        # unknown type otherwise is left to the discriminated union, which names it.
        if isinstance(value, dict) and "type" not in value:
            legacy = _LEGACY_CONTROLLER_TYPES.get(value.get("protocol"))  # type: ignore[arg-type]
            if legacy is not None:
                return {"type": legacy, **value}
        return value


class Gondola(StrictModel):
    id: int = Field(ge=1, description="Gondola (shelving unit) number, 1-based.")
    origin_m: Point2 = Field(
        description="Floor position of the gondola's front-left corner, metres. Plates run "
        "from here along the gondola's length; shoppers stand in front of it."
    )
    rotation_deg: float = Field(
        default=0.0,
        description="Direction of the gondola's length axis, degrees counter-clockwise from +x. "
        "At 0 the gondola runs along +x and its front faces -y.",
    )
    length_m: PositiveMetres = Field(description="Length of the gondola, metres.")
    depth_m: PositiveMetres = Field(description="Depth of the gondola, metres.")
    shelves: list[Shelf] = Field(min_length=1, description="Shelves, bottom to top.")


class Product(StrictModel):
    id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Product id (SKU); stable across price and planogram changes.",
    )
    name: str = Field(min_length=1, description="Product name printed on receipts.")
    weight_g: float = Field(gt=0, description="Catalogue mean unit weight, grams.")
    weight_spread_g: float = Field(
        default=0.0,
        ge=0,
        description="Standard deviation of unit weight between units of this product, grams.",
    )
    price: Decimal = Field(
        ge=0, max_digits=12, decimal_places=2, description="Unit price in the store currency."
    )
    rfid_tag_prefix: str | None = Field(
        default=None,
        min_length=4,
        max_length=32,
        pattern=r"^[0-9A-F]+$",
        description="Item tags on this product's units (high-value items) have UIDs starting with "
        "these hex digits; a tag read at an exit reader confirms or adds the product on the "
        "receipt of the shopper leaving (docs/fusion.md). Omitted: the product is not tagged.",
    )


class PlanogramEntry(StrictModel):
    product: str = Field(description="Product id stocked here.")
    plates: list[str] = Field(
        min_length=1,
        description='Plates holding the product, as "gondola.shelf.plate" (e.g. "1.2.3"); '
        "a wide product spans several adjacent plates of one shelf.",
    )
    units: int = Field(default=10, ge=0, description="Units stocked at the start of the day.")

    @field_validator("plates")
    @classmethod
    def _plate_refs_are_well_formed(cls, refs: list[str]) -> list[str]:
        for ref in refs:
            if not PLATE_REF_PATTERN.match(ref):
                raise ValueError(
                    f'plate reference {ref!r} is not of the form "gondola.shelf.plate"'
                )
        return refs


class PcscReaderSettings(StrictModel):
    """Gate readers reached through pcscd with pyscard (UID by ``FF CA 00 00 00``)."""

    type: Literal["pcsc"] = Field(description="Reader driver type (the plugin that reads it).")


ReaderDriver = Annotated[PcscReaderSettings, Field(discriminator="type")]
READER_TYPES = ("pcsc",)


class Gate(StrictModel):
    id: str = Field(min_length=1, description="Gate id, unique in the store.")
    kind: Literal["entry", "exit", "both"] = Field(
        description="entry: a tap here opens a visit; exit: leaving through it settles the cart."
    )
    zone: list[Point2] = Field(
        min_length=3, description="Floor polygon of the gate zone, metres, at least 3 corners."
    )
    readers: list[str] = Field(
        default_factory=list,
        description="Reader names at this gate (NFC taps, RFID tags), as the reader driver "
        "knows them (PC/SC: the reader name pcscd reports).",
    )
    reader_driver: ReaderDriver = Field(
        default_factory=lambda: PcscReaderSettings(type="pcsc"),
        description="The driver (plugin) that reads this gate's readers; default PC/SC.",
    )


class Camera(StrictModel):
    """A camera read through OpenCV: driver type ``opencv``."""

    type: Literal["opencv"] = Field(
        description="Camera driver type (the plugin that reads it); older configs without a "
        "type mean opencv."
    )
    id: str = Field(min_length=1, description="Camera id, unique in the store.")
    source: str = Field(
        description="Frame source: USB device index, RTSP/HTTP URL or a video file path."
    )
    fps: float = Field(default=15.0, gt=0, le=120, description="Frames per second to process.")
    calibration: str | None = Field(
        default=None,
        description="Path of the camera's calibration file (intrinsics and floor homography); "
        "placeholder until the vision work lands.",
    )


CameraDriver = Annotated[Camera, Field(discriminator="type")]
CAMERA_TYPES = ("opencv",)


class JsonlSocketTrackSource(StrictModel):
    """Person tracks from outside the process, one tracks.jsonl row per line over a socket
    (`walkout sim live`, or an external tracker) until live vision runs in the edge."""

    type: Literal["jsonl-socket"] = Field(description="Track source driver type.")
    address: str = Field(
        pattern=r"^(unix:.+|tcp:.+:\d+)$",
        description="Where the tracks are served: unix:/path/to/socket or tcp:host:port.",
    )


TrackSource = Annotated[JsonlSocketTrackSource, Field(discriminator="type")]
TRACK_SOURCE_TYPES = ("jsonl-socket",)


class MqttLink(StrictModel):
    host: str = Field(default="127.0.0.1", description="MQTT broker host name or address.")
    port: int = Field(default=1883, gt=0, lt=65536, description="MQTT broker TCP port.")
    tls: bool = Field(default=False, description="Use TLS with client certificates.")
    username: str | None = Field(default=None, description="Broker user name for this store.")
    password_env: str | None = Field(
        default=None,
        description="Name of the environment variable holding the broker password "
        "(secrets never live in the config file).",
    )
    keepalive_s: int = Field(
        default=30,
        ge=2,
        le=3600,
        description="MQTT keepalive in seconds: a silent WAN is noticed after 1.5 times this.",
    )
    topic_prefix: str = Field(
        default="walkout/v1",
        pattern=r"^[A-Za-z0-9_.:-]+(/[A-Za-z0-9_.:-]+)*$",
        description="Root of the store's topics; the store id follows (docs/mqtt.md).",
    )
    ca_file: str | None = Field(
        default=None,
        description="With tls: the CA certificate (PEM) that signed the broker's certificate; "
        "default: the system's trust store.",
    )
    cert_file: str | None = Field(
        default=None,
        description="With tls: this store's client certificate (PEM); its CN is the store's "
        "user name on the broker (`walkout cloud pki`).",
    )
    key_file: str | None = Field(
        default=None, description="With tls: the private key (PEM) of cert_file."
    )

    @model_validator(mode="after")
    def _tls_files(self) -> MqttLink:
        # A certificate without its key (or files with tls off) would otherwise fail only when
        # the link thread first connects, or silently connect without the certificate.
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: give both or neither")
        given = [k for k in ("ca_file", "cert_file", "key_file") if getattr(self, k)]
        if given and not self.tls:
            raise ValueError(f"{', '.join(given)} set but tls is false")
        return self


class CloudLink(StrictModel):
    enabled: bool = Field(default=False, description="Stream events to the cloud service.")
    mqtt: MqttLink = Field(default_factory=MqttLink, description="Broker connection.")
    ack_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Seconds without an end-to-end ack before the outbox is published again "
        "from its oldest unacknowledged event.",
    )
    heartbeat_interval_s: float = Field(
        default=30.0, gt=0, description="Seconds between heartbeats (backlog size and age)."
    )
    push_keys: dict[str, str] = Field(
        default_factory=dict,
        description="Cloud signing keys this store trusts for price and planogram pushes: key id "
        "-> Ed25519 public key file (PEM), relative to the config file's folder. Empty: pushes "
        "are not applied (docs/mqtt.md, Config pushes).",
    )


class Storage(StrictModel):
    data_dir: str = Field(
        default="./walkout-data",
        description="Folder for the journal, recordings and kept frames; relative paths are "
        "relative to the working directory.",
    )
    journal: str = Field(
        default="journal.sqlite", description="Journal database file name inside data_dir."
    )


class StoreConfig(StrictModel):
    """A whole store: layout, sensors, catalogue, planogram, gates, cameras, link and storage."""

    version: Literal[1] = Field(description="Store config format version; this is version 1.")
    store: StoreInfo = Field(description="Identity of the store.")
    floor: FloorPlan = Field(description="Extent of the sales floor in metres.")
    gondolas: list[Gondola] = Field(min_length=1, description="Shelving units with their shelves.")
    products: list[Product] = Field(min_length=1, description="The catalogue sold in this store.")
    planogram: list[PlanogramEntry] = Field(
        default_factory=list, description="Which plates hold which product."
    )
    gates: list[Gate] = Field(default_factory=list, description="Entry and exit gates.")
    cameras: list[CameraDriver] = Field(default_factory=list, description="Overhead cameras.")
    track_source: TrackSource | None = Field(
        default=None,
        description="Live person tracks from an external source (walkout edge run); omitted: "
        "no live tracks until the vision stack runs live.",
    )
    cloud: CloudLink = Field(default_factory=CloudLink, description="Link to the cloud service.")
    storage: Storage = Field(default_factory=Storage, description="Where the box keeps data.")

    @field_validator("cameras", mode="before")
    @classmethod
    def _legacy_cameras(cls, value: Any) -> Any:
        # Cameras written before driver types were typed plugins were all read through OpenCV.
        if isinstance(value, list):
            return [
                {"type": "opencv", **c} if isinstance(c, dict) and "type" not in c else c
                for c in value
            ]
        return value
