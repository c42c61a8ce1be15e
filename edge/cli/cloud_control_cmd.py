"""`walkout cloud control ...`: a client of the cloud's gRPC control plane (docs/control-plane.md).

Every command takes `--target HOST:PORT`, `--token-env VAR` (the variable holding the bearer
token), `--ca FILE` for TLS, and `--json` for scripts (one JSON document; `receipts --follow`
prints one JSON object per line). A gRPC error is printed as `error: CODE: message`, exit 1.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from edge.cli.errors import UserError, user_errors

app = typer.Typer(
    help="Control-plane client: stores, prices, receipts, reviews.", no_args_is_help=True
)
price_app = typer.Typer(help="Price books: push and list.", no_args_is_help=True)
plano_app = typer.Typer(help="Planograms: push and list.", no_args_is_help=True)
review_app = typer.Typer(help="The review queue: resolve a flagged receipt.", no_args_is_help=True)
app.add_typer(price_app, name="price-book")
app.add_typer(plano_app, name="planogram")
app.add_typer(review_app, name="review")
out = Console(highlight=False, soft_wrap=True)

TARGET = typer.Option(
    "127.0.0.1:50051", "--target", envvar="WALKOUT_CONTROL_TARGET", help="Control plane HOST:PORT."
)
TOKEN_ENV = typer.Option(
    "WALKOUT_CONTROL_TOKEN", "--token-env", help="Environment variable holding the bearer token."
)
CA = typer.Option(None, "--ca", help="CA certificate (PEM) of the server's TLS certificate.")
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


# Plumbing ----------------------------------------------------------------------------------


@contextmanager
def _client(target: str, token_env: str, ca: Path | None) -> Iterator[Any]:
    """A stub with the caller's token; gRPC errors become user errors (exit 1)."""
    import grpc

    from cloud.control.client import open_channel, stub

    with user_errors():
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise UserError(f"--target {target!r}: expected HOST:PORT, e.g. 127.0.0.1:50051")
        token = os.environ.get(token_env)
        if not token:
            raise UserError(f"--token-env: environment variable {token_env} is not set")
        if ca is not None and not ca.is_file():
            raise UserError(f"--ca {ca}: no such file")
        channel = open_channel(target, token, ca_file=ca)
        try:
            yield stub(channel)
        except grpc.RpcError as exc:
            raise UserError(f"{exc.code().name}: {exc.details()}") from None
        finally:
            channel.close()


def plain(msg: Any) -> dict[str, Any]:
    """A message as a JSON-ready dict: every field, int64 as numbers, enums by name, bytes hex."""
    from google.protobuf.descriptor import FieldDescriptor

    def value(fd: FieldDescriptor, v: Any) -> Any:
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            return plain(v)
        if fd.type == FieldDescriptor.TYPE_ENUM:
            ev = fd.enum_type.values_by_number.get(v)
            return ev.name if ev is not None else v
        if fd.type == FieldDescriptor.TYPE_BYTES:
            return v.hex()
        return v

    result: dict[str, Any] = {}
    for fd in msg.DESCRIPTOR.fields:
        v = getattr(msg, fd.name)
        if fd.is_repeated:
            result[fd.name] = [value(fd, x) for x in v]
        elif fd.has_presence and not msg.HasField(fd.name):  # unset message or optional
            result[fd.name] = None
        else:
            result[fd.name] = value(fd, v)
    return result


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True))


def _time(ns: int) -> str:
    if not ns:
        return "-"
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _money(m: Any) -> str:
    sign = "-" if m.minor_units < 0 else ""
    units = abs(m.minor_units)
    return f"{sign}{units // 100}.{units % 100:02d} {m.currency}".strip()


def parse_time(value: str, where: str) -> int:
    """Unix nanoseconds from an integer (ns) or an ISO 8601 time (UTC when no zone)."""
    if value.isdigit():
        return int(value)
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(
            f"{where}: {value!r} is neither unix nanoseconds nor an ISO 8601 time"
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000


def _yaml_time(value: Any, where: str) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        t = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str):
        return parse_time(value, where)
    raise UserError(f"{where}: {value!r} is not a time")


def _load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at the top")
    return data


def _check_keys(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise UserError(f"{where}: unknown keys {unknown}; allowed: {sorted(allowed)}")


def load_price_book(path: Path) -> Any:
    """A PriceBook from YAML: currency, optional version and effective_from, prices in major
    units (e.g. `sku-cola: 2.19`)."""
    from walkout.v1 import config_pb2

    data = _load_yaml(path)
    _check_keys(data, {"currency", "version", "effective_from", "prices"}, str(path))
    currency = data.get("currency")
    if not isinstance(currency, str):
        raise UserError(f"{path}: currency: missing or not a string")
    version = data.get("version", 0)
    if not isinstance(version, int) or version < 0:
        raise UserError(f"{path}: version: {version!r} is not a whole number >= 0")
    prices = data.get("prices")
    if not isinstance(prices, dict) or not prices:
        raise UserError(f"{path}: prices: expected a mapping of product id to price")
    book = config_pb2.PriceBook(
        version=version,
        currency=currency,
        effective_from_unix_ns=_yaml_time(data.get("effective_from"), f"{path}: effective_from"),
    )
    for product, price in sorted(prices.items(), key=lambda kv: str(kv[0])):
        where = f"{path}: prices.{product}"
        try:
            amount = Decimal(str(price))
        except InvalidOperation:
            raise UserError(f"{where}: {price!r} is not a price") from None
        if amount < 0:
            raise UserError(f"{where}: negative price {price}")
        minor = amount * 100
        if minor != minor.to_integral_value():
            raise UserError(f"{where}: {price} has more than two decimals")
        book.prices.add(product_id=str(product), unit_price_minor_units=int(minor))
    return book


def load_planogram(path: Path) -> Any:
    """A Planogram from YAML: products (product_id, name, unit_weight_g, unit_weight_spread_g)
    and entries (product_id, plates as "gondola.shelf.plate", units)."""
    from walkout.v1 import config_pb2

    data = _load_yaml(path)
    _check_keys(data, {"version", "effective_from", "products", "entries"}, str(path))
    plano = config_pb2.Planogram(
        version=int(data.get("version", 0) or 0),
        effective_from_unix_ns=_yaml_time(data.get("effective_from"), f"{path}: effective_from"),
    )
    for i, p in enumerate(data.get("products") or []):
        where = f"{path}: products[{i}]"
        if not isinstance(p, dict) or "product_id" not in p:
            raise UserError(f"{where}: expected a mapping with product_id")
        _check_keys(p, {"product_id", "name", "unit_weight_g", "unit_weight_spread_g"}, where)
        plano.products.add(
            product_id=str(p["product_id"]),
            name=str(p.get("name", p["product_id"])),
            unit_weight_g=float(p.get("unit_weight_g", 0.0)),
            unit_weight_spread_g=float(p.get("unit_weight_spread_g", 0.0)),
        )
    for i, e in enumerate(data.get("entries") or []):
        where = f"{path}: entries[{i}]"
        if not isinstance(e, dict) or "product_id" not in e:
            raise UserError(f"{where}: expected a mapping with product_id")
        _check_keys(e, {"product_id", "plates", "units"}, where)
        entry = plano.entries.add(product_id=str(e["product_id"]), units=int(e.get("units", 0)))
        for plate in e.get("plates") or []:
            parts = str(plate).split(".")
            if len(parts) != 3 or not all(x.isdigit() and int(x) > 0 for x in parts):
                raise UserError(f"{where}: plate {plate!r} is not gondola.shelf.plate")
            g, s, n = (int(x) for x in parts)
            entry.plates.add(gondola=g, shelf=s, plate=n)
    return plano


def version_cell(pushed: int, reported: int, known: bool) -> str:
    """A store's version column: the pushed version, and what the store reports it uses when
    that differs (a store that has not taken the push yet, or has not said: "store ?")."""
    if not known:
        return f"{pushed} (store ?)"
    return str(pushed) if pushed == reported else f"{pushed} (store {reported})"


def _receipt_row(table: Table, item: Any) -> None:
    r = item.receipt
    table.add_row(
        r.receipt_id[:12],
        item.store_id,
        r.visit_id,
        str(r.revision),
        _time(r.exited_at_unix_ns),
        str(len(r.lines)),
        _money(r.total),
        "yes" if r.needs_review else "",
    )


def _receipts_table(items: Any, title: str) -> Table:
    table = Table(title=title)
    for col in ("receipt", "store", "visit", "rev", "exited (UTC)", "lines", "total", "review"):
        table.add_column(col)
    for item in items:
        _receipt_row(table, item)
    return table


# Commands ----------------------------------------------------------------------------------


@app.command("stores")
def stores(
    online: bool = typer.Option(False, "--online", help="Only stores online now."),
    target: str = TARGET,
    token_env: str = TOKEN_ENV,
    ca: Path | None = CA,
    as_json: bool = JSON,
) -> None:
    """List the stores the caller may see, with the price book and planogram versions pushed to
    each and, where they differ, the versions the store reports in its heartbeats."""
    from walkout.v1 import control_pb2

    with _client(target, token_env, ca) as c:
        resp = c.ListStores(control_pb2.ListStoresRequest(online_only=online))
    if as_json:
        _print_json([plain(s) for s in resp.stores])
        return
    table = Table(title="stores")
    for col in (
        "store",
        "online",
        "last seen (UTC)",
        "backlog",
        "prices v",
        "planogram v",
        "receipts",
        "reviews",
    ):
        table.add_column(col)
    for s in resp.stores:
        table.add_row(
            s.store_id,
            ("yes" if s.online else "no") if s.online_known else "?",
            _time(s.last_seen_unix_ns),
            str(s.outbox_backlog),
            version_cell(s.price_book_version, s.reported_price_book_version, s.versions_reported),
            version_cell(s.planogram_version, s.reported_planogram_version, s.versions_reported),
            str(s.receipts_total),
            str(s.reviews_open),
        )
    out.print(table)


@app.command("fleet")
def fleet(
    store: list[str] = typer.Option([], "--store", help="Only these stores (repeatable)."),
    target: str = TARGET,
    token_env: str = TOKEN_ENV,
    ca: Path | None = CA,
    as_json: bool = JSON,
) -> None:
    """Fleet health: link, age of the last report, backlog, active faults."""
    from walkout.v1 import control_pb2

    with _client(target, token_env, ca) as c:
        resp = c.GetFleetHealth(control_pb2.GetFleetHealthRequest(store_ids=store))
    if as_json:
        _print_json(plain(resp))
        return
    table = Table(title="fleet health")
    for col in ("store", "online", "heard (s ago)", "backlog", "oldest (s)", "faults"):
        table.add_column(col)
    from walkout.v1 import events_pb2

    for h in resp.stores:
        s = h.store
        faults = ", ".join(
            f"{f.sensor_id} {events_pb2.FaultKind.Name(f.fault).removeprefix('FAULT_KIND_')}"
            for f in h.faults
        )
        table.add_row(
            s.store_id,
            ("yes" if s.online else "no") if s.online_known else "?",
            f"{h.last_heartbeat_age_s:.0f}",
            str(s.outbox_backlog),
            f"{s.outbox_oldest_age_s:.0f}",
            faults or "-",
        )
    out.print(table)


@price_app.command("put")
def price_book_put(
    file: Path = typer.Argument(..., help="Price book YAML (docs/control-plane.md)."),
    store: list[str] = typer.Option([], "--store", help="Target stores (repeatable); default all."),
    target: str = TARGET,
    token_env: str = TOKEN_ENV,
    ca: Path | None = CA,
    as_json: bool = JSON,
) -> None:
    """Sign and push a price book to stores (retained on their config topic)."""
    from walkout.v1 import control_pb2

    with user_errors():
        book = load_price_book(file)
    with _client(target, token_env, ca) as c:
        resp = c.PutPriceBook(control_pb2.PutPriceBookRequest(store_ids=store, price_book=book))
    _print_pushed(resp, as_json)


@plano_app.command("put")
def planogram_put(
    file: Path = typer.Argument(..., help="Planogram YAML (docs/control-plane.md)."),
    store: list[str] = typer.Option([], "--store", help="Target stores (repeatable); default all."),
    target: str = TARGET,
    token_env: str = TOKEN_ENV,
    ca: Path | None = CA,
    as_json: bool = JSON,
) -> None:
    """Sign and push a planogram to stores (retained on their config topic)."""
    from walkout.v1 import control_pb2

    with user_errors():
        plano = load_planogram(file)
    with _client(target, token_env, ca) as c:
        resp = c.PutPlanogram(control_pb2.PutPlanogramRequest(store_ids=store, planogram=plano))
    _print_pushed(resp, as_json)


def _print_pushed(resp: Any, as_json: bool) -> None:
    if as_json:
        _print_json(
            [
                {"store_id": b.store_id, "version": b.version, "key_id": b.key_id}
                for b in resp.bundles
            ]
        )
        return
    for b in resp.bundles:
        out.print(f"pushed to {b.store_id}: version {b.version} (signed by {b.key_id})")


@price_app.command("list")
def price_book_list(
    store: list[str] = typer.Option([], "--store", help="Only these stores (repeatable)."),
    target: str = TARGET,
    token_env: str = TOKEN_ENV,
    ca: Path | None = CA,
    as_json: bool = JSON,
) -> None:
    """List the price books the control plane holds."""
    from walkout.v1 import control_pb2

    with _client(target, token_env, ca) as c:
        resp = c.ListPriceBooks(control_pb2.ListConfigsRequest(store_ids=store))
    _print_configs(
        resp.price_books,
        "price books",
        ("currency", "products"),
        lambda p: (p.price_book, (p.price_book.currency, str(len(p.price_book.prices)))),
        as_json,
    )


@plano_app.command("list")
def planogram_list(
    store: list[str] = typer.Option([], "--store", help="Only these stores (repeatable)."),
    target: str = TARGET,
    token_env: str = TOKEN_ENV,
    ca: Path | None = CA,
    as_json: bool = JSON,
) -> None:
    """List the planograms the control plane holds."""
    from walkout.v1 import control_pb2

    with _client(target, token_env, ca) as c:
        resp = c.ListPlanograms(control_pb2.ListConfigsRequest(store_ids=store))
    _print_configs(
        resp.planograms,
        "planograms",
        ("products", "entries"),
        lambda p: (p.planogram, (str(len(p.planogram.products)), str(len(p.planogram.entries)))),
        as_json,
    )


def _print_configs(
    items: Any,
    title: str,
    columns: tuple[str, ...],
    describe: Callable[[Any], tuple[Any, tuple[str, ...]]],
    as_json: bool,
) -> None:
    """A price-book or planogram listing: store, version, start and push times around the
    `columns` that `describe(item)` (the config and its cells) gives."""
    if as_json:
        _print_json([plain(p) for p in items])
        return
    table = Table(title=title)
    for col in ("store", "version", "effective from (UTC)", *columns, "pushed (UTC)"):
        table.add_column(col)
    for p in items:
        config, cells = describe(p)
        table.add_row(
            p.store_id,
            str(config.version),
            _time(config.effective_from_unix_ns),
            *cells,
            _time(p.created_unix_ns),
        )
    out.print(table)


@app.command("receipts")
def receipts(
    store: str = typer.Option("", "--store", help="Only this store."),
    review: bool = typer.Option(False, "--review", help="Only receipts that need review."),
    since: str | None = typer.Option(None, "--since", help="Exit time from (ISO 8601 or unix ns)."),
    until: str | None = typer.Option(
        None, "--until", help="Exit time before (ISO 8601 or unix ns)."
    ),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000, help="At most this many."),
    follow: bool = typer.Option(
        False, "--follow", help="Stream: receipts since --since, then new ones as they are stored."
    ),
    max_count: int = typer.Option(
        0, "--max", min=0, help="With --follow: stop after N (0: never)."
    ),
    target: str = TARGET,
    token_env: str = TOKEN_ENV,
    ca: Path | None = CA,
    as_json: bool = JSON,
) -> None:
    """List receipts (latest revision of each, newest first), or follow the live stream."""
    from walkout.v1 import control_pb2

    with user_errors():
        since_ns = parse_time(since, "--since") if since else 0
        until_ns = parse_time(until, "--until") if until else 0
    with _client(target, token_env, ca) as c:
        if follow:
            call = c.StreamReceipts(
                control_pb2.StreamReceiptsRequest(
                    store_ids=[store] if store else [], since_unix_ns=since_ns
                )
            )
            n = 0
            try:
                for item in call:
                    if review and not item.receipt.needs_review:
                        continue
                    if as_json:
                        typer.echo(json.dumps(plain(item), sort_keys=True))
                    else:
                        r = item.receipt
                        typer.echo(
                            f"{_time(item.stored_unix_ns)} {item.store_id} {r.receipt_id} "
                            f"rev {r.revision} "
                            f"{_money(r.total)}{' REVIEW' if r.needs_review else ''}"
                        )
                    n += 1
                    if max_count and n >= max_count:
                        break
            finally:
                call.cancel()
            return
        resp = c.ListReceipts(
            control_pb2.ListReceiptsRequest(
                store_id=store,
                since_unix_ns=since_ns,
                until_unix_ns=until_ns,
                review=control_pb2.REVIEW_FILTER_NEEDS_REVIEW if review else 0,
                limit=limit,
            )
        )
    if as_json:
        _print_json([plain(r) for r in resp.receipts])
        return
    out.print(_receipts_table(resp.receipts, "receipts"))


@app.command("receipt")
def receipt(
    receipt_id: str = typer.Argument(..., help="Receipt id."),
    revision: int | None = typer.Option(None, "--revision", min=0, help="Default: the latest."),
    target: str = TARGET,
    token_env: str = TOKEN_ENV,
    ca: Path | None = CA,
    as_json: bool = JSON,
) -> None:
    """One receipt with its lines and their evidence."""
    from walkout.v1 import control_pb2

    req = control_pb2.GetReceiptRequest(receipt_id=receipt_id)
    if revision is not None:
        req.revision, req.by_revision = revision, True
    with _client(target, token_env, ca) as c:
        item = c.GetReceipt(req)
    if as_json:
        _print_json(plain(item))
        return
    _print_receipt(item)


def _print_receipt(item: Any) -> None:
    from walkout.v1 import events_pb2

    r = item.receipt
    out.print(
        f"receipt {r.receipt_id} revision {r.revision}  store {item.store_id}  visit {r.visit_id}\n"
        f"shopper {r.shopper_ref or '-'}  entered {_time(r.entered_at_unix_ns)}  "
        f"exited {_time(r.exited_at_unix_ns)}  price book v{r.price_book_version}"
    )
    if r.needs_review:
        reasons = ", ".join(
            events_pb2.ReviewReason.Name(x).removeprefix("REVIEW_REASON_") for x in r.review_reasons
        )
        out.print(f"NEEDS REVIEW: {reasons} {r.review_note}".rstrip())
    elif r.review_note:
        out.print(r.review_note)
    table = Table()
    for col in ("product", "name", "qty", "unit", "total", "evidence"):
        table.add_column(col)
    for line in r.lines:
        ev = "; ".join(
            f"{events_pb2.EvidenceSource.Name(e.source or 1).removeprefix('EVIDENCE_SOURCE_')} "
            f"conf {e.confidence:.2f} track {e.track_id} {e.delta_grams:+.0f} g"
            + (f" vs {len(e.competing)} other" if e.competing else "")
            for e in line.evidence
        )
        table.add_row(
            line.product_id,
            line.name,
            str(line.quantity),
            _money(line.unit_price),
            _money(line.line_total),
            ev,
        )
    out.print(table)
    out.print(f"total {_money(r.total)}")


@app.command("reviews")
def reviews(
    store: str = typer.Option("", "--store", help="Only this store."),
    resolved: bool = typer.Option(False, "--resolved", help="Include resolved reviews."),
    target: str = TARGET,
    token_env: str = TOKEN_ENV,
    ca: Path | None = CA,
    as_json: bool = JSON,
) -> None:
    """The review queue: flagged receipts with their evidence."""
    from walkout.v1 import control_pb2, events_pb2

    with _client(target, token_env, ca) as c:
        resp = c.ListReviews(
            control_pb2.ListReviewsRequest(store_id=store, include_resolved=resolved)
        )
    if as_json:
        _print_json(
            [
                {
                    "receipt": plain(i.receipt.receipt),
                    "store_id": i.receipt.store_id,
                    "resolution": plain(i.resolution) if i.HasField("resolution") else None,
                }
                for i in resp.reviews
            ]
        )
        return
    table = Table(title="review queue")
    for col in (
        "receipt",
        "store",
        "visit",
        "exited (UTC)",
        "reasons",
        "lines",
        "lowest conf",
        "resolved by",
    ):
        table.add_column(col)
    for i in resp.reviews:
        r = i.receipt.receipt
        confs = [e.confidence for line in r.lines for e in line.evidence]
        table.add_row(
            r.receipt_id,
            i.receipt.store_id,
            r.visit_id,
            _time(r.exited_at_unix_ns),
            ", ".join(
                events_pb2.ReviewReason.Name(x).removeprefix("REVIEW_REASON_")
                for x in r.review_reasons
            ),
            ", ".join(f"{line.product_id}x{line.quantity}" for line in r.lines),
            f"{min(confs):.2f}" if confs else "-",
            i.resolution.resolved_by if i.HasField("resolution") else "",
        )
    out.print(table)


def parse_line(value: str) -> tuple[str, int]:
    product, sep, qty = value.rpartition(":")
    if not sep or not product or not qty.lstrip("-").isdigit():
        raise UserError(f"--line {value!r}: expected PRODUCT:QTY, e.g. sku-cola:2")
    return product, int(qty)


@review_app.command("resolve")
def review_resolve(
    receipt_id: str = typer.Argument(..., help="Receipt to resolve."),
    line: list[str] = typer.Option(
        [],
        "--line",
        help="A corrected line PRODUCT:QTY (repeatable); products not listed are not charged.",
    ),
    note: str = typer.Option(..., "--note", help="Why; kept with the resolution."),
    by: str = typer.Option("", "--by", help="Who resolved it; default: the token's name."),
    target: str = TARGET,
    token_env: str = TOKEN_ENV,
    ca: Path | None = CA,
    as_json: bool = JSON,
) -> None:
    """Resolve a flagged receipt into a corrected one (its next revision)."""
    from walkout.v1 import control_pb2

    with user_errors():
        lines = [parse_line(v) for v in line]
    req = control_pb2.ResolveReviewRequest(receipt_id=receipt_id, resolved_by=by, note=note)
    for product, qty in lines:
        req.lines.add(product_id=product, quantity=qty)
    with _client(target, token_env, ca) as c:
        resp = c.ResolveReview(req)
    if as_json:
        _print_json(
            {
                "receipt": plain(resp.corrected.receipt),
                "store_id": resp.corrected.store_id,
                "resolution": plain(resp.resolution),
            }
        )
        return
    out.print(
        f"resolved by {resp.resolution.resolved_by}: revision {resp.corrected.receipt.revision}"
    )
    _print_receipt(resp.corrected)


@app.command("shopper")
def shopper(
    shopper_ref: str = typer.Argument(..., help="The shopper's payment token (shopper_ref)."),
    target: str = TARGET,
    token_env: str = TOKEN_ENV,
    ca: Path | None = CA,
    as_json: bool = JSON,
) -> None:
    """What a shopper is charged for: each receipt once, in its latest revision."""
    from walkout.v1 import control_pb2

    with _client(target, token_env, ca) as c:
        resp = c.GetShopperRecord(control_pb2.GetShopperRecordRequest(shopper_ref=shopper_ref))
    if as_json:
        _print_json([plain(r) for r in resp.receipts])
        return
    out.print(_receipts_table(resp.receipts, f"shopper {shopper_ref}"))
