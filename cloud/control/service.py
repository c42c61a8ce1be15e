"""The walkout.v1.ControlPlane RPCs over the record layer (cloud/records.py).

Each call authenticates its bearer token first (UNAUTHENTICATED), then checks every store it
touches against the token's scope (PERMISSION_DENIED). Record-layer errors map to status codes:
RecordNotFound -> NOT_FOUND, AlreadyResolved -> ALREADY_EXISTS, RecordConflict ->
FAILED_PRECONDITION, ValueError -> INVALID_ARGUMENT; the message names the id concerned.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine
from walkout.v1 import config_pb2, control_pb2, control_pb2_grpc

from cloud import records
from cloud.control import convert
from cloud.control.auth import Caller, TokenTable
from cloud.control.publisher import PublishError
from cloud.push import config_topic, sign
from edge.push.prices import price_entries_problem

log = logging.getLogger(__name__)
CHUNK_BYTES = 1 << 20  # ModelChunk.data is at most 1 MiB
MAX_LIST = 10_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # model names and versions: no paths
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes) -> None: ...


@dataclass
class ServiceSettings:
    tokens: TokenTable
    signing_key: Ed25519PrivateKey | None = None  # None: PutPriceBook/PutPlanogram refuse
    key_id: str = ""
    publisher: Publisher | None = None  # None: pushes are refused (no broker)
    model_dir: Path | None = None  # GetModel serves <model_dir>/<name>/<version>.onnx
    topic_prefix: str = "walkout/v1"
    stream_poll_s: float = 0.2
    wall_clock_ns: Callable[[], int] = field(default=time.time_ns)


class _Abort(Exception):
    """Raised inside a handler to end the call with a status code."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


def _status(exc: Exception) -> tuple[grpc.StatusCode, str] | None:
    if isinstance(exc, _Abort):
        return exc.code, str(exc)
    if isinstance(exc, records.RecordNotFound):
        return grpc.StatusCode.NOT_FOUND, str(exc)
    if isinstance(exc, records.AlreadyResolved):
        return grpc.StatusCode.ALREADY_EXISTS, str(exc)
    if isinstance(exc, records.RecordConflict):
        return grpc.StatusCode.FAILED_PRECONDITION, str(exc)
    if isinstance(exc, PublishError):
        return grpc.StatusCode.UNAVAILABLE, str(exc)
    if isinstance(exc, ValueError):
        return grpc.StatusCode.INVALID_ARGUMENT, str(exc)
    return None


def _unary(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def handler(self: ControlPlaneService, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return fn(self, request, context)
        except Exception as exc:
            status = _status(exc)
            if status is None:
                raise  # grpc answers UNKNOWN and logs the traceback
            log.info("%s: %s %s", fn.__name__, status[0].name, status[1])
            context.abort(*status)

    return handler


def _streaming(fn: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    @functools.wraps(fn)
    def handler(
        self: ControlPlaneService, request: Any, context: grpc.ServicerContext
    ) -> Iterator[Any]:
        try:
            yield from fn(self, request, context)
        except Exception as exc:
            status = _status(exc)
            if status is None:
                raise
            log.info("%s: %s %s", fn.__name__, status[0].name, status[1])
            context.abort(*status)

    return handler


class ControlPlaneService(control_pb2_grpc.ControlPlaneServicer):
    def __init__(self, engine: Engine, settings: ServiceSettings):
        self.engine = engine
        self.s = settings
        self._push_lock = threading.Lock()  # one push at a time: versions are assigned in order

    # Auth ----------------------------------------------------------------------------------

    def _caller(self, context: grpc.ServicerContext) -> Caller:
        found = self.s.tokens.authenticate(context.invocation_metadata())
        if isinstance(found, str):
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, found)
        return found

    def _allow(self, caller: Caller, store_ids: list[str] | tuple[str, ...]) -> None:
        for sid in store_ids:
            if not caller.may(sid):
                raise _Abort(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"token {caller.name!r} may not access store {sid!r}",
                )

    # Stores --------------------------------------------------------------------------------

    @_unary
    def ListStores(self, request: Any, context: grpc.ServicerContext) -> Any:
        caller = self._caller(context)
        stores = records.list_stores(self.engine, caller.scope())
        if request.online_only:
            stores = [s for s in stores if s.online]
        return control_pb2.ListStoresResponse(stores=[convert.store_summary(s) for s in stores])

    @_unary
    def GetFleetHealth(self, request: Any, context: grpc.ServicerContext) -> Any:
        caller = self._caller(context)
        self._allow(caller, list(request.store_ids))
        now = self.s.wall_clock_ns()
        health = records.fleet_health(
            self.engine, caller.scope(list(request.store_ids)), now_unix_ns=now
        )
        return control_pb2.GetFleetHealthResponse(
            stores=[convert.store_health(h) for h in health], generated_at_unix_ns=now
        )

    # Price books and planograms -------------------------------------------------------------

    @_unary
    def PutPriceBook(self, request: Any, context: grpc.ServicerContext) -> Any:
        caller = self._caller(context)
        if not request.HasField("price_book"):
            raise ValueError("price_book: missing")
        _check_price_book(request.price_book)
        return self._push(caller, "price_book", list(request.store_ids), request.price_book)

    @_unary
    def PutPlanogram(self, request: Any, context: grpc.ServicerContext) -> Any:
        caller = self._caller(context)
        if not request.HasField("planogram"):
            raise ValueError("planogram: missing")
        _check_planogram(request.planogram)
        return self._push(caller, "planogram", list(request.store_ids), request.planogram)

    def _push(self, caller: Caller, kind: str, store_ids: list[str], payload: Any) -> Any:
        for sid in store_ids:
            if not sid or len(sid) > 64 or "/" in sid or "+" in sid or "#" in sid:
                raise ValueError(f"store_ids: {sid!r} is not a store id")
        self._allow(caller, store_ids)
        if self.s.signing_key is None or not self.s.key_id:
            raise records.RecordConflict(
                f"cannot push a {kind}: the control plane has no signing key (--signing-key)"
            )
        if self.s.publisher is None:
            raise _Abort(
                grpc.StatusCode.UNAVAILABLE, f"cannot push a {kind}: no MQTT broker configured"
            )
        with self._push_lock:
            targets = sorted(set(store_ids)) or [
                s.store_id for s in records.list_stores(self.engine, caller.scope())
            ]
            if not targets:
                raise records.RecordConflict(f"cannot push a {kind}: no store known to push to")
            now = self.s.wall_clock_ns()
            bundles = []
            # Stored first, in one transaction (a stale version for any store refuses them all),
            # then published: a bundle published but not stored could be given the same version
            # again with other contents, which the edge would ignore as already in force.
            with self.engine.begin() as conn:
                for sid in targets:
                    mine = type(payload)()
                    mine.CopyFrom(payload)
                    records.put_config(conn, kind, sid, mine, now_unix_ns=now)
                    bundles.append(
                        sign(
                            self.s.signing_key,
                            self.s.key_id,
                            sid,
                            kind,
                            mine,
                            issued_at_unix_ns=now,
                        )
                    )
            for b in bundles:
                self.s.publisher.publish(
                    config_topic(b.store_id, kind, self.s.topic_prefix), b.SerializeToString()
                )
            log.info(
                "%s pushed %s to %s",
                caller.name,
                kind,
                ", ".join(f"{b.store_id} v{b.version}" for b in bundles),
            )
        return control_pb2.PutConfigResponse(bundles=bundles)

    @_unary
    def ListPriceBooks(self, request: Any, context: grpc.ServicerContext) -> Any:
        caller = self._caller(context)
        self._allow(caller, list(request.store_ids))
        held = records.list_configs(
            self.engine, "price_book", store_ids=caller.scope(list(request.store_ids))
        )
        return control_pb2.ListPriceBooksResponse(
            price_books=[convert.stored_price_book(c) for c in held]
        )

    @_unary
    def ListPlanograms(self, request: Any, context: grpc.ServicerContext) -> Any:
        caller = self._caller(context)
        self._allow(caller, list(request.store_ids))
        held = records.list_configs(
            self.engine, "planogram", store_ids=caller.scope(list(request.store_ids))
        )
        return control_pb2.ListPlanogramsResponse(
            planograms=[convert.stored_planogram(c) for c in held]
        )

    # Receipts ------------------------------------------------------------------------------

    @_unary
    def ListReceipts(self, request: Any, context: grpc.ServicerContext) -> Any:
        caller = self._caller(context)
        if request.store_id:
            self._allow(caller, [request.store_id])
        if request.limit > MAX_LIST:
            raise ValueError(f"limit: {request.limit} is over {MAX_LIST}")
        review = {
            control_pb2.REVIEW_FILTER_UNSPECIFIED: None,
            control_pb2.REVIEW_FILTER_NEEDS_REVIEW: True,
            control_pb2.REVIEW_FILTER_CLEAR: False,
        }.get(request.review)
        if request.review not in (0, 1, 2):
            raise ValueError(f"review: unknown filter {request.review}")
        found = records.list_receipts(
            self.engine,
            store_id=request.store_id or None,
            store_ids=caller.scope(),
            since_unix_ns=request.since_unix_ns or None,
            until_unix_ns=request.until_unix_ns or None,
            needs_review=review,
            limit=request.limit or 100,
        )
        return control_pb2.ListReceiptsResponse(receipts=[convert.stored_receipt(r) for r in found])

    @_unary
    def GetReceipt(self, request: Any, context: grpc.ServicerContext) -> Any:
        caller = self._caller(context)
        if not request.receipt_id:
            raise ValueError("receipt_id: empty")
        revision = request.revision if request.by_revision else None
        r = records.get_receipt(self.engine, request.receipt_id, revision)
        self._allow(caller, [r.store_id])
        return convert.stored_receipt(r)

    @_streaming
    def StreamReceipts(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        caller = self._caller(context)
        self._allow(caller, list(request.store_ids))
        scope = caller.scope(list(request.store_ids))
        # Taken before the backlog is read, so nothing stored meanwhile is missed (the seen set
        # drops what the backlog already sent).
        cursor = floor = records.last_row_id(self.engine)
        seen: dict[tuple[str, int], int] = {}
        if request.since_unix_ns:
            backlog = records.list_receipts(
                self.engine, since_unix_ns=request.since_unix_ns, store_ids=scope, limit=MAX_LIST
            )
            for r in reversed(backlog):
                seen[(r.receipt_id, r.revision)] = cursor
                yield convert.stored_receipt(r)
        lookback = 64  # rows: a concurrent writer may commit a lower events.id after a higher one
        while context.is_active():
            fresh = records.receipts_after(
                self.engine, max(floor, cursor - lookback), store_ids=scope
            )
            for item in fresh:
                key = (item.receipt.receipt_id, item.receipt.revision)
                if key in seen:
                    continue
                seen[key] = item.row_id
                cursor = max(cursor, item.row_id)
                yield convert.stored_receipt(item.receipt)
            for key in [k for k, row in seen.items() if row < cursor - lookback]:
                del seen[key]
            if not fresh or len(fresh) < 500:
                time.sleep(self.s.stream_poll_s)
        log.info("StreamReceipts of %s ended (client gone)", caller.name)

    # Reviews -------------------------------------------------------------------------------

    @_unary
    def ListReviews(self, request: Any, context: grpc.ServicerContext) -> Any:
        caller = self._caller(context)
        if request.store_id:
            self._allow(caller, [request.store_id])
        items = records.review_queue(
            self.engine,
            store_id=request.store_id or None,
            include_resolved=request.include_resolved,
            store_ids=caller.scope(),
        )
        return control_pb2.ListReviewsResponse(reviews=[convert.review_item(i) for i in items])

    @_unary
    def ResolveReview(self, request: Any, context: grpc.ServicerContext) -> Any:
        caller = self._caller(context)
        if not request.receipt_id:
            raise ValueError("receipt_id: empty")
        original = records.get_receipt(self.engine, request.receipt_id)
        self._allow(caller, [original.store_id])
        corrected = records.resolve_review(
            self.engine,
            request.receipt_id,
            lines=[records.CorrectedLine(cl.product_id, cl.quantity) for cl in request.lines],
            resolved_by=request.resolved_by or caller.name,
            note=request.note,
            now_unix_ns=self.s.wall_clock_ns(),
        )
        res = records.get_resolution(self.engine, request.receipt_id)
        assert res is not None
        log.info(
            "%s resolved receipt %s into revision %d",
            caller.name,
            request.receipt_id,
            corrected.revision,
        )
        return control_pb2.ResolveReviewResponse(
            corrected=convert.stored_receipt(corrected), resolution=convert.resolution(res)
        )

    @_unary
    def GetShopperRecord(self, request: Any, context: grpc.ServicerContext) -> Any:
        caller = self._caller(context)
        if not request.shopper_ref:
            raise ValueError("shopper_ref: empty")
        found = [
            r
            for r in records.shopper_record(self.engine, request.shopper_ref)
            if caller.may(r.store_id)
        ]
        return control_pb2.ShopperRecord(
            shopper_ref=request.shopper_ref, receipts=[convert.stored_receipt(r) for r in found]
        )

    # Models --------------------------------------------------------------------------------

    @_streaming
    def GetModel(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        caller = self._caller(context)
        if request.store_id:
            self._allow(caller, [request.store_id])
        for name, value in (("model_name", request.model_name), ("version", request.version)):
            if not _NAME.match(value) or ".." in value:
                raise ValueError(f"{name}: {value!r} is not a model {name.replace('model_', '')}")
        if self.s.model_dir is None:
            raise records.RecordNotFound("no model directory configured (--model-dir)")
        path = self.s.model_dir / request.model_name / f"{request.version}.onnx"
        if not path.is_file():
            raise records.RecordNotFound(
                f"model {request.model_name!r} version {request.version!r} not found"
            )
        size = path.stat().st_size
        if request.offset > size:
            raise ValueError(f"offset: {request.offset} is beyond the model's {size} bytes")
        with path.open("rb") as f:
            f.seek(request.offset)
            offset = request.offset
            while context.is_active():
                data = f.read(CHUNK_BYTES)
                if not data:
                    break
                yield control_pb2.ModelChunk(offset=offset, data=data, total_size_bytes=size)
                offset += len(data)


def _check_price_book(book: config_pb2.PriceBook) -> None:
    if not _CURRENCY.match(book.currency):
        raise ValueError(f"price_book.currency: {book.currency!r} is not an ISO 4217 code")
    if book.effective_from_unix_ns < 0:
        raise ValueError("price_book.effective_from_unix_ns: negative")
    problem = price_entries_problem(book)
    if problem is not None:
        raise ValueError(f"price_book.{problem}")


def _check_planogram(plano: config_pb2.Planogram) -> None:
    if plano.effective_from_unix_ns < 0:
        raise ValueError("planogram.effective_from_unix_ns: negative")
    products: set[str] = set()
    for i, p in enumerate(plano.products):
        if not p.product_id:
            raise ValueError(f"planogram.products[{i}]: empty product_id")
        if p.product_id in products:
            raise ValueError(f"planogram.products[{i}]: product {p.product_id!r} listed twice")
        products.add(p.product_id)
    for i, e in enumerate(plano.entries):
        if e.product_id not in products:
            raise ValueError(
                f"planogram.entries[{i}]: product {e.product_id!r} is not in planogram.products"
            )
        if not e.plates:
            raise ValueError(f"planogram.entries[{i}] ({e.product_id}): no plates")
