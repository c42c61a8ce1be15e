"""Pushed price books are timestamped core inputs: recorded in a session's pushes stream, kept by
the core with their effective-from times, and charged from the core's own inputs, so a replay of
a live recording charges what the live run charged (issue 5's rule)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from support.services import broker, needs_mosquitto  # noqa: F401 (fixture)
from test_control_plane import ADMIN, KEY, client, cloud_and_live_store
from test_link import wait_for
from test_planogram_push import receipts, with_pushes
from typer.testing import CliRunner
from walkout.v1 import config_pb2, control_pb2

from cloud import records
from cloud.push import price_book
from edge.cli.cloud_control_cmd import version_cell
from edge.cli.main import app
from edge.drivers.base import LiveInput
from edge.live.runtime import LiveOptions, LiveRuntime
from edge.push.prices import PriceBookRejected, PriceBooks, price_book_in_force
from edge.replay.runner import _merged_inputs, replay_session
from edge.session.errors import SessionError
from edge.session.model import ConfigPush
from edge.session.reader import Session
from sim.generate import generate_session
from sim.scenario import Scenario

# Two shoppers one after the other (seed 3: the first enters at 1.3 s and settles at 44.6 s, the
# second enters at 45.7 s): a price push at 45.0 s falls between the two visits.
TWO_IN_TURN = """
name: two-in-turn
description: Two shoppers one after the other, a few items each (price push tests).
store: small
duration_s: 5
arrivals: {rate_per_min: 1, count: 2, first_s: 1.0, max_inside: 1}
shopper: {items_mean: 2, items_max: 3, exit_tap_probability: 1.0, leave_empty_probability: 0.0}
behaviour: {browse_put_back: 0.0, put_back_wrong_plate: 0.0, multi_unit: 0.0, slow_pick: 0.0}
"""
SEED = 3
PUSH_T = 45.0


@pytest.fixture(scope="module")
def base_session(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("prices") / "session"
    generate_session(Scenario.model_validate(yaml.safe_load(TWO_IN_TURN)), SEED, out)
    return out


@pytest.fixture(scope="module")
def plain(base_session: Path, tmp_path_factory) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    """The receipts with the config's prices (no pushes)."""
    run = replay_session(base_session, tmp_path_factory.mktemp("plain") / "run").run_dir
    return receipts(run)


def unix_ns(session: Path, t: float) -> int:
    return round((Session.open(session).manifest.start_time_unix + t) * 1e9)


def doubled(receipt: dict, version: int, effective_from_unix_ns: int) -> config_pb2.PriceBook:  # type: ignore[type-arg]
    """A price book charging twice the config price of every product on `receipt`."""
    prices = {ln["product_id"]: Decimal(ln["unit_price"]) * 2 for ln in receipt["lines"]}
    return price_book(version, prices, effective_from_unix_ns=effective_from_unix_ns)


def push(t: float, book: config_pb2.PriceBook) -> ConfigPush:
    return ConfigPush(
        t, "price_book", book.version, book.effective_from_unix_ns, book.SerializeToString()
    )


def run_stats(run: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((run / "run.json").read_text())["stats"]


def test_the_scenario_has_two_visits_either_side_of_the_push(plain: list[dict]) -> None:  # type: ignore[type-arg]
    first, second = plain
    assert first["settled_t"] < PUSH_T < second["entry_t"]
    assert first["price_book_version"] == second["price_book_version"] == 0
    assert not first["needs_review"] and not second["needs_review"]


def test_price_push_between_two_visits_prices_the_second_and_replays_byte_identically(
    base_session: Path,
    plain: list[dict],
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    first, second = plain
    book = doubled(second, 1, unix_ns(base_session, PUSH_T))
    session = with_pushes(base_session, tmp_path / "pushed", [push(PUSH_T, book)])
    assert [(p.kind, p.version) for p in Session.open(session).pushes()] == [("price_book", 1)]
    a = replay_session(session, tmp_path / "a")
    b = replay_session(session, tmp_path / "b")
    for name in ("events.jsonl", "receipts.jsonl", "run.json"):
        assert (a.run_dir / name).read_bytes() == (b.run_dir / name).read_bytes(), name
    got_first, got_second = receipts(a.run_dir)
    assert got_first == first  # settled before the push: the config's prices, version 0
    assert got_second["price_book_version"] == 1
    assert [ln["unit_price"] for ln in got_second["lines"]] == [
        f"{Decimal(ln['unit_price']) * 2:.2f}" for ln in second["lines"]
    ]
    assert Decimal(got_second["total"]) == Decimal(second["total"]) * 2
    assert not got_second["needs_review"]
    held = [e for e in map(json.loads, (a.run_dir / "events.jsonl").read_text().splitlines())]
    assert [(e["type"], e["version"]) for e in held if e["type"] == "price_book_received"] == [
        ("price_book_received", 1)
    ]
    stats = run_stats(a.run_dir)
    assert (stats["price_books_received"], stats["price_books_rejected"]) == (1, 0)


def test_book_in_force_at_entry_applies_not_the_one_at_exit(
    base_session: Path,
    plain: list[dict],
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    """Received during the first visit: a book effective after its entry does not change its
    cart (it prices the second); one effective before its entry does."""
    first, second = plain
    later = doubled(
        first | {"lines": first["lines"] + second["lines"]}, 1, unix_ns(base_session, 10)
    )
    session = with_pushes(base_session, tmp_path / "later", [push(20.0, later)])
    r1, r2 = receipts(replay_session(session, tmp_path / "r").run_dir)
    assert (r1["price_book_version"], r1["total"]) == (0, first["total"])
    assert r2["price_book_version"] == 1
    assert Decimal(r2["total"]) == Decimal(second["total"]) * 2
    earlier = doubled(first, 1, unix_ns(base_session, 0.5))
    session = with_pushes(base_session, tmp_path / "earlier", [push(20.0, earlier)])
    r1, r2 = receipts(replay_session(session, tmp_path / "e").run_dir)
    assert r1["price_book_version"] == 1 and Decimal(r1["total"]) == Decimal(first["total"]) * 2
    # The second shopper's products are not in that book: config prices, flagged for review.
    assert r2["price_book_version"] == 1 and r2["total"] == second["total"]
    assert r2["needs_review"] and any("in price book" in x for x in r2["review_reasons"])


def test_bad_or_stale_price_books_in_a_session_are_rejected_and_counted(
    base_session: Path,
    plain: list[dict],
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    _, second = plain
    eff = unix_ns(base_session, 0)
    usd = price_book(3, {"P0007": Decimal("9.99")}, currency="USD", effective_from_unix_ns=eff)
    good = doubled(second, 2, eff)
    stale = doubled(second, 1, eff)
    negative = doubled(second, 4, eff)
    negative.prices[0].unit_price_minor_units = -5
    pushes = [push(1.0, usd), push(2.0, good), push(3.0, stale), push(4.0, negative)]
    session = with_pushes(base_session, tmp_path / "bad", pushes)
    run = replay_session(session, tmp_path / "run").run_dir
    rows = [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]
    rejected = [e["reason"] for e in rows if e["type"] == "price_book_rejected"]
    assert len(rejected) == 3
    assert "currency 'USD' is not the store's 'EUR'" in rejected[0]
    assert "price book v1: not newer than v2" in rejected[1]
    assert "negative price" in rejected[2] and "prices[0]" in rejected[2]
    assert [r["price_book_version"] for r in receipts(run)] == [2, 2]  # the good one held
    stats = run_stats(run)
    assert (stats["price_books_received"], stats["price_books_rejected"]) == (1, 3)


def test_a_row_whose_payload_disagrees_with_its_version_names_the_file(
    base_session: Path,
    plain: list[dict],
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    book = doubled(plain[1], 2, 0)
    row = ConfigPush(1.0, "price_book", 5, 0, book.SerializeToString())
    session = with_pushes(base_session, tmp_path / "s", [row])
    with pytest.raises(SessionError, match=r"pushes.jsonl.*price_book payload is version 2"):
        replay_session(session, tmp_path / "run")


def test_price_books_pick_the_newest_effective_at_a_time() -> None:
    books = PriceBooks("EUR")
    books.receive(price_book(1, {"A": Decimal("1.00")}, effective_from_unix_ns=100))
    books.receive(price_book(2, {"A": Decimal("2.00")}, effective_from_unix_ns=300))
    books.receive(price_book(3, {"A": Decimal("3.00")}, effective_from_unix_ns=200))
    assert books.at(99) is None
    assert [books.at(t).version for t in (100, 199, 200, 299, 300)] == [1, 1, 3, 3, 3]  # type: ignore[union-attr]
    with pytest.raises(PriceBookRejected, match="not newer than v3"):
        books.receive(price_book(3, {"A": Decimal("9.00")}))
    dup = price_book(4, {"A": Decimal("1.00")})
    dup.prices.add(product_id="A", unit_price_minor_units=5)
    with pytest.raises(PriceBookRejected, match=r"prices\[1\] 'A': listed twice"):
        price_book_in_force(dup, currency="EUR")


def test_stores_table_shows_reported_versions_next_to_pushed() -> None:
    assert version_cell(2, 2, True) == "2"
    assert version_cell(2, 1, True) == "2 (store 1)"
    assert version_cell(2, 0, False) == "2 (store ?)"


# --- live: a price book pushed through the control plane and mosquitto during a run -------------


def _live_config(tmp_path: Path, session: Session, port: int) -> Path:
    """The session's store config on a loop:// serial port, with the cloud link and a push key."""
    key_file = tmp_path / "cloud-1.pub.pem"
    key_file.write_bytes(
        KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    data = yaml.safe_load(session.config_text.replace("/dev/ttyUSB0", "loop://"))
    data["cloud"] = {
        "enabled": True,
        "mqtt": {"host": "127.0.0.1", "port": port},
        "heartbeat_interval_s": 0.3,
        "push_keys": {"cloud-1": key_file.name},
    }
    config = tmp_path / "store.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return config


@pytest.mark.slow
def test_price_book_pushed_during_a_live_run_is_charged_and_its_recording_replays(  # type: ignore[no-untyped-def]
    base_session: Path,
    tmp_path: Path,
    broker,  # noqa: F811
) -> None:
    """The simulated session's inputs are fed to a live runtime on their own times; between the
    two visits PutPriceBook signs and publishes a book retained on mosquitto, the edge link
    verifies and persists it, the core takes it as a queued input. The second shopper is charged
    the new prices, the heartbeat reports the version to a real ingest worker, `walkout cloud
    control stores` shows it, and the recording replays to the same receipts and events."""
    session = Session.open(base_session)
    config = _live_config(tmp_path, session, broker.port)
    store = session.config.store.id
    config_prices = {p.id: p.price for p in session.config.products}
    with cloud_and_live_store(tmp_path, broker.port, config) as (engine, srv, runtime):
        assert runtime.pushes is not None and runtime.core is not None
        assert runtime.clock is not None
        t0 = runtime.clock.t0_mono
        pushed = False
        for t, _order, source, item in _merged_inputs(session, None):
            if not pushed and t >= PUSH_T:
                eff = round((runtime.start_unix + PUSH_T) * 1e9)
                book = price_book(0, {p: v * 2 for p, v in config_prices.items()})
                book.effective_from_unix_ns = eff
                put = client(srv).PutPriceBook(
                    control_pb2.PutPriceBookRequest(store_ids=[store], price_book=book)
                )
                assert [(b.store_id, b.version) for b in put.bundles] == [(store, 1)]
                wait_for(lambda: runtime.pushes.applied == [("price_book", 1)], 15, "the book")
                # Applied on disk, not yet in the core: it is a queued input.
                assert runtime.core.price_books.newest_version == 0
                while (queued := runtime.queue.get_nowait()) is not None:
                    runtime.handle(queued)
                assert runtime.core.price_books.newest_version == 1
                pushed = True
            if source == "reads":
                read = (item.kind, item.uid, item.event)
                runtime.handle(LiveInput(t0 + t, "read", item.reader, read))
            elif source == "tracks":
                people = [(p.id, p.x, p.y, p.hands) for p in item.people]
                runtime.handle(LiveInput(t0 + t, "tracks", "tracks", people))
            else:
                runtime.handle(LiveInput(t0 + t, "shelf", "loop://", item))
        assert pushed and runtime.core.stats.receipts == 2
        runtime.write_status()
        assert runtime.last_status["pushed"]["price_book_version"] == 1
        wait_for(
            lambda: records.list_stores(engine)[0].reported_price_book_version == 1,
            15,
            "a heartbeat naming price book 1",
        )
        (listed,) = client(srv).ListStores(control_pb2.ListStoresRequest()).stores
        assert (listed.price_book_version, listed.reported_price_book_version) == (1, 1)
        cli = CliRunner().invoke(
            app,
            ["cloud", "control", "stores", "--json", "--target", f"127.0.0.1:{srv.port}"],
            env={"WALKOUT_CONTROL_TOKEN": ADMIN},
        )
        assert cli.exit_code == 0, cli.output
        (shown,) = json.loads(cli.output)
        assert (shown["price_book_version"], shown["reported_price_book_version"]) == (1, 1)
    live = receipts(tmp_path / "data")
    assert [r["price_book_version"] for r in live] == [0, 1]
    first, second = live
    for receipt, factor in ((first, 1), (second, 2)):
        assert receipt["lines"] and not receipt["needs_review"]
        for line in receipt["lines"]:
            assert Decimal(line["unit_price"]) == config_prices[line["product_id"]] * factor
    rec = Session.open(tmp_path / "rec")
    assert [(p.kind, p.version) for p in rec.pushes()] == [("price_book", 1)]
    run = replay_session(tmp_path / "rec", tmp_path / "replayed").run_dir
    for name in ("receipts.jsonl", "events.jsonl"):
        assert (tmp_path / "data" / name).read_bytes() == (run / name).read_bytes(), name
    # Persisted: after a restart the saved book is the core's first input, recorded as such.
    again = LiveRuntime(
        config,
        LiveOptions(data_dir=tmp_path / "data", cameras=False, record_dir=tmp_path / "rec2"),
    )
    again.start()
    try:
        assert again.core is not None and again.core.price_books.newest_version == 1
    finally:
        again.shutdown()
    assert [(p.kind, p.version) for p in Session.open(tmp_path / "rec2").pushes()] == [
        ("price_book", 1)
    ]
