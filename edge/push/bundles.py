"""Signed bundles from the cloud (walkout.v1.SignedBundle, protos/walkout/v1/config.proto).

`BundleVerifier.verify` accepts a bundle only if it is for this store, of a known payload type,
signed (Ed25519) by a key this store trusts, over exactly the signing input the proto defines,
and its payload parses and carries the bundle's version. `ConfigStore.apply` then keeps it only if
it is newer than the version in force for its type, writing it to disk atomically (temporary
file, fsync, rename) before it takes effect, so a crash leaves the old or the new version, never
a mix, and a restart never goes back to an older one.

Which price applies (applied by the core from the books it took as inputs, edge/push/prices.py):
the price book in force when the shopper entered the store (docs/mqtt.md, "Config pushes"). A
visit is one transaction: the shelf labels the shopper saw on the way in are what the receipt
charges, and a price change during the visit does not change it; the receipt names that book's
version.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from google.protobuf.message import DecodeError
from walkout.v1 import config_pb2

from edge.push.prices import PriceBookInForce, newest_effective

log = logging.getLogger("walkout.push")

KINDS = {
    config_pb2.PAYLOAD_TYPE_PRICE_BOOK: ("price_book", config_pb2.PriceBook),
    config_pb2.PAYLOAD_TYPE_PLANOGRAM: ("planogram", config_pb2.Planogram),
}


class BundleRejected(ValueError):
    """A bundle the edge will not apply; the message says why."""


def signing_input(bundle: config_pb2.SignedBundle) -> bytes:
    """Exactly the bytes the cloud signs (config.proto, SignedBundle)."""
    head = (
        f"walkout.v1.SignedBundle\n{int(bundle.payload_type)}\n{bundle.store_id}\n"
        f"{bundle.version}\n{bundle.issued_at_unix_ns}\n{bundle.key_id}\n"
    )
    return head.encode("ascii") + bundle.payload


@dataclass
class BundleVerifier:
    store_id: str
    trusted_keys: dict[str, Ed25519PublicKey]

    def verify(self, raw: bytes) -> tuple[str, config_pb2.SignedBundle, object]:
        """(kind, bundle, parsed payload) of a valid bundle, else BundleRejected."""
        bundle = config_pb2.SignedBundle()
        try:
            bundle.ParseFromString(raw)
        except DecodeError as exc:
            raise BundleRejected(f"not a SignedBundle: {exc}") from None
        if bundle.store_id != self.store_id:
            raise BundleRejected(f"for store {bundle.store_id!r}, not {self.store_id!r}")
        if bundle.payload_type not in KINDS:
            raise BundleRejected(f"payload type {bundle.payload_type} is not one the edge applies")
        key = self.trusted_keys.get(bundle.key_id)
        if key is None:
            raise BundleRejected(f"signed with unknown key {bundle.key_id!r}")
        try:
            key.verify(bundle.signature, signing_input(bundle))
        except InvalidSignature:
            raise BundleRejected("bad signature: tampered or not signed by the cloud") from None
        kind, message_type = KINDS[bundle.payload_type]
        payload = message_type()
        try:
            payload.ParseFromString(bundle.payload)
        except DecodeError as exc:
            raise BundleRejected(f"{kind} payload does not parse: {exc}") from None
        if payload.version != bundle.version:
            raise BundleRejected(
                f"{kind} version {payload.version} differs from the bundle's {bundle.version}"
            )
        return kind, bundle, payload


@dataclass
class ConfigStore:
    """The pushed config in force, persisted under `folder` (one file per kind)."""

    folder: Path
    versions: dict[str, int] = field(default_factory=dict)
    price_books: list[PriceBookInForce] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, message_type in KINDS.values():
            path = self.folder / f"{name}.bundle"
            if path.exists():
                bundle = config_pb2.SignedBundle.FromString(path.read_bytes())
                payload = message_type.FromString(bundle.payload)
                self._take(name, bundle.version, payload)

    def apply(self, kind: str, bundle: config_pb2.SignedBundle, payload: object) -> bool:
        """Persist atomically and take effect; False if that version is already in force (the
        retained message again after a reconnect); an older version is rejected (a replay)."""
        current = self.versions.get(kind, 0)
        if bundle.version == current:
            return False
        if bundle.version < current:
            raise BundleRejected(
                f"stale {kind}: version {bundle.version} is not newer than {current} in force"
            )
        path = self.folder / f"{kind}.bundle"
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            f.write(bundle.SerializeToString())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._take(kind, bundle.version, payload)
        return True

    def _take(self, kind: str, version: int, payload: object) -> None:
        self.versions[kind] = version
        if kind == "price_book":
            book: config_pb2.PriceBook = payload  # type: ignore[assignment]
            prices = {e.product_id: Decimal(e.unit_price_minor_units) / 100 for e in book.prices}
            new = PriceBookInForce(version, book.effective_from_unix_ns, book.currency, prices)
            # A new list, not an in-place sort: the core thread may read it meanwhile.
            self.price_books = sorted([*self.price_books, new], key=lambda b: b.version)

    def bundle(self, kind: str) -> config_pb2.SignedBundle | None:
        """The persisted bundle of `kind` in force, None when none was pushed."""
        path = self.folder / f"{kind}.bundle"
        return config_pb2.SignedBundle.FromString(path.read_bytes()) if path.exists() else None

    def price_book_at(self, unix_ns: int) -> PriceBookInForce | None:
        """The newest persisted price book already effective at `unix_ns` (None: the config's).

        The link's view, for tools and tests: the core never reads it, it prices receipts from
        the books it took as inputs (edge/push/prices.py)."""
        return newest_effective(self.price_books, unix_ns)


# Checks a verified payload against the store before it is persisted (raises BundleRejected).
Validate = Callable[[str, object], None]
# Told of every bundle that took effect: (kind, bundle, parsed payload).
Applied = Callable[[str, config_pb2.SignedBundle, object], None]


@dataclass
class PushApplier:
    """What the edge link calls with each retained config bundle: verify, check, then apply.

    `validate` (optional) checks the payload against the store (a planogram naming plates the
    store does not have is rejected before it is persisted, so the old one stays in force);
    `on_applied` (optional) hands what took effect to the pipeline (the live runtime queues a
    planogram or price book as a timestamped core input, edge/live/runtime.py).
    """

    verifier: BundleVerifier
    store: ConfigStore
    applied: list[tuple[str, int]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    validate: Validate | None = None
    on_applied: Applied | None = None

    def __call__(self, topic: str, raw: bytes) -> None:
        try:
            kind, bundle, payload = self.verifier.verify(raw)
            # Only a newer version is checked: the same one again is a no-op, an older one stale.
            if self.validate is not None and bundle.version > self.store.versions.get(kind, 0):
                self.validate(kind, payload)
            if not self.store.apply(kind, bundle, payload):
                return  # already in force (the retained copy again after a reconnect)
        except BundleRejected as exc:
            self.rejected.append(f"{topic}: {exc}")
            log.warning("rejected config bundle on %s: %s", topic, exc)
            return
        self.applied.append((kind, bundle.version))
        log.info("applied %s version %d", kind, bundle.version)
        if self.on_applied is not None:
            self.on_applied(kind, bundle, payload)
