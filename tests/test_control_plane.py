"""The gRPC control plane (cloud/control/) on a real loopback server and a real SQLite database;
pushes through a real mosquitto to a real edge link that verifies the signed bundle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from support.services import broker, needs_mosquitto  # noqa: F401 (fixture)
from support.traffic import fill_journal
from test_link import backlog, link_settings, wait_for
from test_records import OTHER, STORE, T0, ingest, price_book, receipt_event, rid
from typer.testing import CliRunner
from walkout.v1 import config_pb2, control_pb2, events_pb2

from cloud import db, records
from cloud.broker import free_port
from cloud.control.auth import Caller, TokenFileError, TokenTable
from cloud.control.client import open_channel, stub
from cloud.control.publisher import RetainedPublisher
from cloud.control.server import ControlServer, start_control_server
from cloud.control.service import ServiceSettings
from cloud.ingest import IngestSettings, IngestWorker
from edge.cli.main import app
from edge.link import topics
from edge.link.link import EdgeLink
from edge.link.mqtt import BrokerAddress, Event
from edge.live.runtime import LiveOptions, LiveRuntime
from edge.push.bundles import BundleVerifier, ConfigStore, PushApplier

ADMIN = "admin-token-0123456789abcdef"
STORE1 = "store1-token-0123456789abcdef"
NOW_NS = 1_700_001_010 * 10**9  # the service's injected wall clock
KEY = Ed25519PrivateKey.generate()


def tokens() -> TokenTable:
    return TokenTable([(ADMIN, Caller("hq", None)), (STORE1, Caller("ops-1", frozenset({STORE})))])


def stock(engine: Engine) -> None:
    """Store 1: receipts 1 to 4 (2 and 4 flagged), price book v1; store 2: one flagged receipt."""
    records.put_config(engine, "price_book", STORE, price_book(), now_unix_ns=T0)
    ingest(
        engine,
        [
            receipt_event(STORE, 1),
            receipt_event(STORE, 2, lines={"sku-cola": 2, "sku-gum": 1}, needs_review=True),
            receipt_event(STORE, 3, shopper="shopper-b"),
            receipt_event(STORE, 4, needs_review=True, shopper="shopper-b"),
            receipt_event(OTHER, 1, needs_review=True),
        ],
    )


def start(engine: Engine, tmp_path: Path, **kw) -> ControlServer:  # type: ignore[no-untyped-def]
    models = tmp_path / "models"
    (models / "detector").mkdir(parents=True, exist_ok=True)
    (models / "detector" / "2026.11.30-1.onnx").write_bytes(bytes(range(256)) * 10_000)
    settings = ServiceSettings(
        tokens=tokens(),
        signing_key=KEY,
        key_id="cloud-1",
        model_dir=models,
        stream_poll_s=0.05,
        wall_clock_ns=lambda: NOW_NS,
        **kw,
    )
    return start_control_server(engine, settings)


@contextmanager
def cloud_and_live_store(
    tmp_path: Path, broker_port: int, config: Path
) -> Iterator[tuple[Engine, ControlServer, LiveRuntime]]:
    """A cloud on SQLite (one ingest worker, a retained publisher, the control server) and a
    live store runtime on `config`, recording to tmp_path/rec, all on one broker; everything is
    stopped on the way out, the store first."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'cloud.sqlite'}")
    worker = IngestWorker(engine, IngestSettings(broker=BrokerAddress(port=broker_port)))
    worker.start()
    assert worker.wait_ready(10)
    publisher = RetainedPublisher(BrokerAddress(port=broker_port))
    srv = start(engine, tmp_path, publisher=publisher)
    runtime = LiveRuntime(
        config, LiveOptions(data_dir=tmp_path / "data", cameras=False, record_dir=tmp_path / "rec")
    )
    runtime.start()
    try:
        yield engine, srv, runtime
    finally:
        runtime.shutdown()
        srv.stop()
        publisher.close()
        worker.stop()
        engine.dispose()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = db.make_engine(f"sqlite:///{tmp_path / 'cloud.sqlite'}")
    stock(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def server(engine: Engine, tmp_path: Path) -> Iterator[ControlServer]:
    srv = start(engine, tmp_path)
    yield srv
    srv.stop()


def client(server: ControlServer, token: str | None = ADMIN):  # type: ignore[no-untyped-def]
    return stub(open_channel(f"127.0.0.1:{server.port}", token))


def code_of(call, request) -> tuple[grpc.StatusCode, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as info:
        result = call(request)
        if hasattr(result, "__iter__") and not hasattr(result, "ByteSize"):
            list(result)
    return info.value.code(), info.value.details()


# Auth ----------------------------------------------------------------------------------------


def test_no_or_unknown_token_is_unauthenticated(server: ControlServer) -> None:
    code, msg = code_of(client(server, None).ListStores, control_pb2.ListStoresRequest())
    assert code == grpc.StatusCode.UNAUTHENTICATED and "Bearer" in msg
    code, msg = code_of(client(server, "x" * 20).ListStores, control_pb2.ListStoresRequest())
    assert code == grpc.StatusCode.UNAUTHENTICATED and msg == "unknown token"
    # The control: the right token gets through.
    assert client(server).ListStores(control_pb2.ListStoresRequest()).stores


def test_store_scoped_token_sees_only_its_stores(server: ControlServer) -> None:
    hq = client(server).ListStores(control_pb2.ListStoresRequest())
    assert [s.store_id for s in hq.stores] == [STORE, OTHER]
    mine = client(server, STORE1).ListStores(control_pb2.ListStoresRequest())
    assert [s.store_id for s in mine.stores] == [STORE]
    s1 = mine.stores[0]
    assert (s1.receipts_total, s1.reviews_open, s1.price_book_version) == (4, 2, 1)
    other_receipt = control_pb2.GetReceiptRequest(receipt_id=rid(OTHER, 1))
    code, msg = code_of(client(server, STORE1).GetReceipt, other_receipt)
    assert code == grpc.StatusCode.PERMISSION_DENIED and "store-2" in msg
    assert client(server).GetReceipt(other_receipt).store_id == OTHER
    receipts = client(server, STORE1).ListReceipts(control_pb2.ListReceiptsRequest())
    assert {r.store_id for r in receipts.receipts} == {STORE}
    code, _ = code_of(
        client(server, STORE1).ListReceipts, control_pb2.ListReceiptsRequest(store_id=OTHER)
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    reviews = client(server, STORE1).ListReviews(control_pb2.ListReviewsRequest())
    assert (
        len(reviews.reviews) == 2
        and len(client(server).ListReviews(control_pb2.ListReviewsRequest()).reviews) == 3
    )
    code, _ = code_of(
        client(server, STORE1).ResolveReview,
        control_pb2.ResolveReviewRequest(receipt_id=rid(OTHER, 1), note="x"),
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    code, _ = code_of(
        client(server, STORE1).StreamReceipts, control_pb2.StreamReceiptsRequest(store_ids=[OTHER])
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    shopper = client(server, STORE1).GetShopperRecord(
        control_pb2.GetShopperRecordRequest(shopper_ref="shopper-a")
    )
    assert {r.store_id for r in shopper.receipts} == {STORE}


def test_token_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(
        "tokens:\n"
        "  - {name: hq, token_env: HQ_TOKEN, stores: '*'}\n"
        f"  - {{name: ops, token: {STORE1}, stores: [store-1]}}\n"
    )
    table = TokenTable.load(path, env={"HQ_TOKEN": ADMIN})
    assert table.lookup(ADMIN) == Caller("hq", None)
    assert table.lookup(STORE1) == Caller("ops", frozenset({"store-1"}))
    assert table.lookup("nope") is None
    with pytest.raises(TokenFileError, match="HQ_TOKEN is not set"):
        TokenTable.load(path, env={})
    path.write_text("tokens:\n  - {name: hq, token: short, stores: '*'}\n")
    with pytest.raises(TokenFileError, match="shorter than 16"):
        TokenTable.load(path)
    path.write_text(f"tokens:\n  - {{name: hq, token: {ADMIN}, stores: []}}\n")
    with pytest.raises(TokenFileError, match=r"tokens\[0\] \(hq\): 'stores' must be"):
        TokenTable.load(path)


# Stores, receipts, reviews -------------------------------------------------------------------


def test_fleet_health_reports_age_backlog_and_faults(engine: Engine, server: ControlServer) -> None:
    msg = events_pb2.EdgeEvent()
    h = msg.header
    h.event_id, h.store_id, h.stream, h.sequence = "fault-1", STORE, "faults", 1
    h.event_time_unix_ns = T0
    f = msg.sensor_fault
    f.sensor_kind, f.sensor_id = events_pb2.SENSOR_KIND_CAMERA, "cam-2"
    f.fault, f.active, f.message = events_pb2.FAULT_KIND_FROZEN_CAMERA, True, "no change 30 s"
    ingest(
        engine,
        [
            Event(
                "message", 1, topic=topics.events(STORE, "faults"), payload=msg.SerializeToString()
            )
        ],
    )
    health = client(server).GetFleetHealth(control_pb2.GetFleetHealthRequest())
    assert [s.store.store_id for s in health.stores] == [STORE, OTHER]
    one = health.stores[0]
    assert one.last_heartbeat_age_s == 10.0  # ingest stamped 1_700_001_000 s; the clock says +10
    assert [(x.sensor_id, x.fault) for x in one.faults] == [
        ("cam-2", events_pb2.FAULT_KIND_FROZEN_CAMERA)
    ]
    assert not health.stores[1].faults
    code, _ = code_of(
        client(server, STORE1).GetFleetHealth, control_pb2.GetFleetHealthRequest(store_ids=[OTHER])
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED


def test_list_and_get_receipts(server: ControlServer) -> None:
    c = client(server)
    flagged = c.ListReceipts(
        control_pb2.ListReceiptsRequest(
            store_id=STORE, review=control_pb2.REVIEW_FILTER_NEEDS_REVIEW
        )
    )
    assert [r.receipt.visit_id for r in flagged.receipts] == ["visit-4", "visit-2"]
    clear = c.ListReceipts(
        control_pb2.ListReceiptsRequest(
            store_id=STORE, review=control_pb2.REVIEW_FILTER_CLEAR, limit=1
        )
    )
    assert [r.receipt.visit_id for r in clear.receipts] == ["visit-3"]
    got = c.GetReceipt(control_pb2.GetReceiptRequest(receipt_id=rid(STORE, 2)))
    assert got.receipt.total.minor_units == 497 and got.receipt.lines[0].evidence[0].competing
    code, msg = code_of(c.GetReceipt, control_pb2.GetReceiptRequest(receipt_id="r-missing"))
    assert code == grpc.StatusCode.NOT_FOUND and "r-missing" in msg
    code, msg = code_of(
        c.GetReceipt,
        control_pb2.GetReceiptRequest(receipt_id=rid(STORE, 2), revision=5, by_revision=True),
    )
    assert code == grpc.StatusCode.NOT_FOUND and "revision 5" in msg
    code, _ = code_of(c.GetReceipt, control_pb2.GetReceiptRequest())
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    code, _ = code_of(c.ListReceipts, control_pb2.ListReceiptsRequest(limit=10_001))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


def test_resolve_review_gives_revision_1_in_the_database_and_the_shopper_record(
    engine: Engine, server: ControlServer
) -> None:
    c = client(server, STORE1)
    queue = c.ListReviews(control_pb2.ListReviewsRequest(store_id=STORE))
    assert [i.receipt.receipt.visit_id for i in queue.reviews] == ["visit-2", "visit-4"]
    assert queue.reviews[0].receipt.receipt.lines[0].evidence[0].competing[0].visit_id
    done = c.ResolveReview(
        control_pb2.ResolveReviewRequest(
            receipt_id=rid(STORE, 2),
            lines=[control_pb2.CorrectedLine(product_id="sku-cola", quantity=1)],
            note="one cola went to the other shopper",
        )
    )
    assert done.corrected.receipt.revision == 1 and not done.corrected.receipt.needs_review
    assert done.corrected.receipt.total.minor_units == 199
    assert done.resolution.resolved_by == "ops-1"  # the token's name when none is given
    assert done.resolution.corrected_lines == 2  # cola 2 -> 1, gum 1 -> 0
    with engine.connect() as conn:
        revs = conn.execute(
            select(db.receipts.c.revision, db.receipts.c.total_minor_units)
            .where(db.receipts.c.receipt_id == rid(STORE, 2))
            .order_by(db.receipts.c.revision)
        ).all()
    assert [tuple(r) for r in revs] == [(0, 497), (1, 199)]
    record = c.GetShopperRecord(control_pb2.GetShopperRecordRequest(shopper_ref="shopper-a"))
    mine = {r.receipt.receipt_id: r.receipt.revision for r in record.receipts}
    assert mine == {rid(STORE, 1): 0, rid(STORE, 2): 1}
    # Error codes, each naming the receipt.
    again = control_pb2.ResolveReviewRequest(receipt_id=rid(STORE, 2), note="again")
    code, msg = code_of(c.ResolveReview, again)
    assert code == grpc.StatusCode.ALREADY_EXISTS and rid(STORE, 2) in msg
    code, msg = code_of(c.ResolveReview, control_pb2.ResolveReviewRequest(receipt_id=rid(STORE, 1)))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "not under review" in msg
    code, msg = code_of(c.ResolveReview, control_pb2.ResolveReviewRequest(receipt_id="gone"))
    assert code == grpc.StatusCode.NOT_FOUND and "'gone'" in msg
    bad = control_pb2.ResolveReviewRequest(
        receipt_id=rid(STORE, 4), lines=[control_pb2.CorrectedLine(product_id="sku-zz", quantity=1)]
    )
    code, msg = code_of(c.ResolveReview, bad)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "unknown product 'sku-zz'" in msg
    assert (
        c.ListReviews(control_pb2.ListReviewsRequest()).reviews[0].receipt.receipt.visit_id
        == "visit-4"
    )


def test_stream_sends_the_backlog_then_a_receipt_stored_after_it_started(
    engine: Engine, server: ControlServer
) -> None:
    call = client(server, STORE1).StreamReceipts(
        control_pb2.StreamReceiptsRequest(since_unix_ns=T0 + 180_000_000_000)
    )
    got: list[control_pb2.StoredReceipt] = []
    done = threading.Event()

    def read() -> None:
        try:
            for item in call:
                got.append(item)
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.CANCELLED
        finally:
            done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_for(lambda: len(got) == 2, 10, "the backlog")
    assert [r.receipt.visit_id for r in got] == ["visit-3", "visit-4"]  # oldest first, store 1
    ingest(engine, [receipt_event(OTHER, 2), receipt_event(STORE, 7)])
    wait_for(lambda: len(got) == 3, 10, "the new receipt")
    assert got[2].receipt.visit_id == "visit-7" and got[2].store_id == STORE
    # A correction is a new revision: the stream sends it too.
    client(server).ResolveReview(
        control_pb2.ResolveReviewRequest(receipt_id=rid(STORE, 4), note="ok", resolved_by="hq")
    )
    wait_for(lambda: len(got) == 4, 10, "the corrected revision")
    assert (got[3].receipt.receipt_id, got[3].receipt.revision) == (rid(STORE, 4), 1)
    call.cancel()
    assert done.wait(5)
    assert len(got) == 4  # the other store's receipt never came


# Price books, planograms, models -------------------------------------------------------------


@needs_mosquitto
def test_put_price_book_reaches_the_store_as_a_retained_signed_bundle(  # type: ignore[no-untyped-def]
    engine: Engine,
    tmp_path: Path,
    broker,  # noqa: F811
) -> None:
    publisher = RetainedPublisher(BrokerAddress(port=broker.port))
    srv = start(engine, tmp_path, publisher=publisher)
    try:
        c = client(srv, STORE1)
        book = price_book(0)
        book.prices[0].unit_price_minor_units = 259
        resp = c.PutPriceBook(control_pb2.PutPriceBookRequest(price_book=book))  # all my stores
        assert [(b.store_id, b.version) for b in resp.bundles] == [(STORE, 2)]
        # The store connects later: the retained bundle reaches it, verified and applied.
        applier = PushApplier(
            BundleVerifier(STORE, {"cloud-1": KEY.public_key()}), ConfigStore(tmp_path / "pushed")
        )
        link = EdgeLink(tmp_path / "journal.sqlite", link_settings(broker.port))
        link.on_config = applier
        link.start()
        try:
            wait_for(lambda: applier.applied == [("price_book", 2)], 10, "the pushed price book")
        finally:
            link.stop()
        assert not applier.rejected
        in_force = applier.store.price_book_at(10**19)
        assert in_force is not None and in_force.prices["sku-chips"] == Decimal("2.59")
        listed = c.ListPriceBooks(control_pb2.ListConfigsRequest())
        assert [(p.store_id, p.price_book.version) for p in listed.price_books] == [
            (STORE, 1),
            (STORE, 2),
        ]
        assert listed.price_books[1].price_book.effective_from_unix_ns == T0
        assert listed.price_books[1].created_unix_ns == NOW_NS
        # Errors: stale version, bad currency, another store's prices.
        code, msg = code_of(
            c.PutPriceBook, control_pb2.PutPriceBookRequest(price_book=price_book(2))
        )
        assert code == grpc.StatusCode.FAILED_PRECONDITION and "not newer than version 2" in msg
        bad = price_book(0)
        bad.currency = "euro"
        code, msg = code_of(c.PutPriceBook, control_pb2.PutPriceBookRequest(price_book=bad))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "currency" in msg
        code, _ = code_of(
            c.PutPriceBook,
            control_pb2.PutPriceBookRequest(store_ids=[OTHER], price_book=price_book(0)),
        )
        assert code == grpc.StatusCode.PERMISSION_DENIED
        assert records.latest_config_version(engine, "price_book", OTHER) == 0
        # Planograms: versioned the same way.
        plano = config_pb2.Planogram(effective_from_unix_ns=T0)
        plano.products.add(product_id="sku-cola", name="Cola 0.5 l", unit_weight_g=510.0)
        plano.entries.add(product_id="sku-cola", units=24).plates.add(gondola=1, shelf=1, plate=1)
        put = client(srv).PutPlanogram(
            control_pb2.PutPlanogramRequest(store_ids=[STORE, OTHER], planogram=plano)
        )
        assert [(b.store_id, b.version) for b in put.bundles] == [(STORE, 1), (OTHER, 1)]
        listed_p = client(srv).ListPlanograms(control_pb2.ListConfigsRequest(store_ids=[OTHER]))
        assert [p.planogram.products[0].name for p in listed_p.planograms] == ["Cola 0.5 l"]
        broken = config_pb2.Planogram()
        broken.entries.add(product_id="sku-nope").plates.add(gondola=1, shelf=1, plate=1)
        code, msg = code_of(
            client(srv).PutPlanogram, control_pb2.PutPlanogramRequest(planogram=broken)
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "'sku-nope'" in msg
    finally:
        srv.stop()
        publisher.close()


def test_push_without_a_broker_is_unavailable_and_without_key_refused(
    engine: Engine, server: ControlServer, tmp_path: Path
) -> None:
    code, msg = code_of(
        client(server).PutPriceBook, control_pb2.PutPriceBookRequest(price_book=price_book(0))
    )
    assert code == grpc.StatusCode.UNAVAILABLE and "no MQTT broker" in msg
    assert records.latest_config_version(engine, "price_book", STORE) == 1  # nothing stored


def test_get_model_streams_chunks_and_resumes(server: ControlServer) -> None:
    c = client(server)
    req = control_pb2.GetModelRequest(model_name="detector", version="2026.11.30-1")
    chunks = list(c.GetModel(req))
    data = b"".join(ch.data for ch in chunks)
    assert data == bytes(range(256)) * 10_000 and len(chunks) == 3
    assert [ch.offset for ch in chunks] == [0, 1 << 20, 2 << 20]
    req.offset = 2_000_000
    assert b"".join(ch.data for ch in c.GetModel(req)) == data[2_000_000:]
    code, msg = code_of(c.GetModel, control_pb2.GetModelRequest(model_name="detector", version="9"))
    assert code == grpc.StatusCode.NOT_FOUND and "'9'" in msg
    code, _ = code_of(c.GetModel, control_pb2.GetModelRequest(model_name="..", version="x"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


# The CLI end to end --------------------------------------------------------------------------


def cli(server: ControlServer, *args: str, token: str = ADMIN):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    return runner.invoke(
        app,
        ["cloud", "control", *args, "--target", f"127.0.0.1:{server.port}", "--token-env", "T"],
        env={"T": token},
    )


def test_cli_end_to_end(server: ControlServer, tmp_path: Path) -> None:
    out = cli(server, "stores", "--json")
    assert out.exit_code == 0, out.output
    assert [s["store_id"] for s in json.loads(out.output)] == [STORE, OTHER]
    out = cli(server, "stores")
    assert out.exit_code == 0 and "store-1" in out.output
    out = cli(server, "reviews", "--json", token=STORE1)
    assert [r["receipt"]["visit_id"] for r in json.loads(out.output)] == ["visit-2", "visit-4"]
    out = cli(
        server,
        "review",
        "resolve",
        rid(STORE, 2),
        "--line",
        "sku-cola:2",
        "--note",
        "gum put back",
        "--by",
        "anna",
        "--json",
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["receipt"]["revision"] == 1
    out = cli(server, "receipt", rid(STORE, 2), "--json")
    assert json.loads(out.output)["receipt"]["total"]["minor_units"] == 398
    out = cli(server, "shopper", "shopper-a", "--json")
    assert {r["receipt"]["revision"] for r in json.loads(out.output)} == {0, 1}
    out = cli(server, "receipts", "--store", STORE, "--review")
    assert out.exit_code == 0 and "visit-4" in out.output and "visit-2" not in out.output
    out = cli(server, "fleet")
    assert out.exit_code == 0 and "store-2" in out.output
    out = cli(server, "price-book", "list", "--json")
    assert [p["price_book"]["version"] for p in json.loads(out.output)] == [1]
    out = cli(server, "price-book", "list")
    assert out.exit_code == 0 and "price books" in out.output and STORE in out.output
    out = cli(server, "planogram", "list")
    assert out.exit_code == 0 and "planograms" in out.output
    # User errors: `error: ...` and exit 1, no traceback.
    out = cli(server, "receipt", "nope")
    assert out.exit_code == 1 and "error: NOT_FOUND: receipt 'nope' not found" in out.output
    out = cli(server, "review", "resolve", rid(STORE, 4), "--line", "sku-cola", "--note", "x")
    assert out.exit_code == 1 and "PRODUCT:QTY" in out.output
    out = cli(server, "stores", token="wrong-token-0123456789")
    assert out.exit_code == 1 and "UNAUTHENTICATED" in out.output


def test_cli_price_book_put_from_yaml_is_refused_without_broker(
    server: ControlServer, tmp_path: Path
) -> None:
    book = tmp_path / "prices.yaml"
    book.write_text(
        "currency: EUR\neffective_from: 2026-12-02T06:00:00Z\nprices:\n  sku-cola: 2.19\n"
    )
    out = cli(server, "price-book", "put", str(book), "--store", STORE)
    assert out.exit_code == 1 and "UNAVAILABLE" in out.output
    book.write_text("currency: EUR\nprices:\n  sku-cola: -1\n")
    out = cli(server, "price-book", "put", str(book), "--store", STORE)
    assert out.exit_code == 1 and "prices.sku-cola" in out.output and "negative" in out.output


def test_cli_follow_prints_new_receipts(engine: Engine, server: ControlServer) -> None:
    result: dict[str, object] = {}

    def run() -> None:
        result["out"] = cli(server, "receipts", "--follow", "--json", "--max", "1")

    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(0.5)
    ingest(engine, [receipt_event(STORE, 8)])
    t.join(15)
    out = result["out"]
    assert out.exit_code == 0, out.output  # type: ignore[attr-defined]
    assert json.loads(out.output.strip())["receipt"]["visit_id"] == "visit-8"  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(db.receipts)).scalar_one() == 6


def test_signing_key_file(tmp_path: Path) -> None:
    from cloud.control.server import load_signing_key

    path = tmp_path / "signing.pem"
    path.write_bytes(
        KEY.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert load_signing_key(path).public_key() == KEY.public_key()
    path.write_text("not a key")
    with pytest.raises(ValueError, match="not a readable PEM private key"):
        load_signing_key(path)


# TLS and `walkout cloud serve --grpc-port` -----------------------------------------------------


def test_tls_with_a_fleet_ca_certificate(engine: Engine, tmp_path: Path) -> None:
    from cloud.control.server import TlsFiles
    from cloud.pki import create_ca, issue

    ca = create_ca(tmp_path / "pki")
    cert = issue(ca, "walkout-control", tmp_path / "pki", server=True)
    settings = ServiceSettings(tokens=tokens(), wall_clock_ns=lambda: NOW_NS)
    srv = start_control_server(engine, settings, tls=TlsFiles(cert.cert, cert.key))
    try:
        secure = stub(open_channel(f"127.0.0.1:{srv.port}", ADMIN, ca_file=ca.cert))
        assert len(secure.ListStores(control_pb2.ListStoresRequest(), timeout=10).stores) == 2
        # The control: a plaintext client cannot talk to the TLS port.
        plain_client = client(srv)
        with pytest.raises(grpc.RpcError) as info:
            plain_client.ListStores(control_pb2.ListStoresRequest(), timeout=3)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        srv.stop()


@needs_mosquitto
@pytest.mark.slow
def test_cloud_serve_with_grpc_port_ingests_and_pushes(tmp_path: Path, broker) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(
        KEY.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    port = free_port()
    url = f"sqlite:///{tmp_path / 'cloud.sqlite'}"
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from edge.cli.main import app; app()",
            "cloud",
            "serve",
            "--broker",
            f"127.0.0.1:{broker.port}",
            "--db",
            url,
            "--grpc-port",
            str(port),
            "--grpc-admin-token-env",
            "HQ",
            "--signing-key",
            str(key_file),
        ],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "HQ": ADMIN},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    journal = tmp_path / "journal.sqlite"
    ids = fill_journal(journal, STORE, 20)
    applier = PushApplier(
        BundleVerifier(STORE, {"cloud-1": KEY.public_key()}), ConfigStore(tmp_path / "pushed")
    )
    link = EdgeLink(journal, link_settings(broker.port))
    link.on_config = applier
    link.start()
    try:
        wait_for(lambda: backlog(journal) == 0, 60, "the outbox to drain through the service")
        c = stub(open_channel(f"127.0.0.1:{port}", ADMIN))
        got = c.ListReceipts(control_pb2.ListReceiptsRequest(limit=100), timeout=10)
        assert sorted(r.receipt.receipt_id for r in got.receipts) == sorted(ids)
        pushed = c.PutPriceBook(
            control_pb2.PutPriceBookRequest(price_book=price_book(0)), timeout=10
        )
        assert [(b.store_id, b.version) for b in pushed.bundles] == [(STORE, 1)]
        wait_for(lambda: applier.applied == [("price_book", 1)], 10, "the pushed price book")
    finally:
        link.stop()
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(30)
    assert code == 0, (tmp_path / "serve.log").read_text()
