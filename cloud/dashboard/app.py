"""The operator dashboard: a FastAPI app over the cloud database (docs/dashboard.md).

Pages are rendered on the server (cloud/dashboard/pages.py); live parts are refreshed by a small
script polling HTML fragments. Every page but /login needs a signed session cookie; a staff user
sees only their stores (403 otherwise), an admin every store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.engine import Engine
from walkout.v1 import events_pb2

from cloud import db, records
from cloud.dashboard import pages
from cloud.dashboard.auth import SessionSigner, User, verify_password

log = logging.getLogger(__name__)

COOKIE = "walkout_session"
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_LINES = 200


@dataclass
class DashboardSettings:
    users: dict[str, User]
    signer: SessionSigner
    store_configs: Path | None = None  # <dir>/<store_id>.yaml: layouts for the floor maps
    secure_cookie: bool = False  # set behind TLS so the cookie never travels in clear
    clock: Callable[[], float] = time.time
    stale_after_heartbeats: float = 3.0  # heartbeats missed before a store shows as stale
    layouts: dict[str, Any] = field(default_factory=dict)


class _Denied(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def make_app(engine: Engine, settings: DashboardSettings) -> FastAPI:
    app = FastAPI(title="Walkout dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    s = settings

    @app.exception_handler(_Denied)
    async def _denied(_request: Request, exc: _Denied) -> Response:
        return exc.response

    def html(body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    def current_user(request: Request) -> User:
        """The logged-in user, or a redirect to /login (with a message when expired)."""
        cookie = request.cookies.get(COOKIE)
        name, why = s.signer.check(cookie, s.clock())
        user = s.users.get(name) if name else None
        if user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            flag = "&expired=1" if why == "expired" else ""
            response = RedirectResponse(f"/login?next={quote(target)}{flag}", status_code=303)
            if cookie:
                response.delete_cookie(COOKIE)
            raise _Denied(response)
        return user

    def require_store(user: User, store_id: str) -> None:
        known = store_id in _known_stores(engine, s)
        if not known:
            raise _Denied(
                html(pages.error_page("Unknown store", f"no store {store_id!r}", user), 404)
            )
        if not user.may_see(store_id):
            msg = f"user {user.name!r} may not see store {store_id!r} (staff of: "
            msg += ", ".join(sorted(user.stores)) + ")"
            raise _Denied(html(pages.error_page("Forbidden", msg, user), 403))

    def receipt_or_error(user: User, receipt_id: str, revision: int | None = None) -> Any:
        try:
            receipt = records.get_receipt(engine, receipt_id, revision)
        except records.RecordNotFound as exc:
            raise _Denied(
                html(pages.error_page("Unknown receipt", str(exc.args[0]), user), 404)
            ) from None
        if not user.may_see(receipt.store_id):
            raise _Denied(
                html(
                    pages.error_page(
                        "Forbidden",
                        f"receipt {receipt_id!r} belongs to store {receipt.store_id!r}, "
                        f"which user {user.name!r} may not see",
                        user,
                    ),
                    403,
                )
            )
        return receipt

    def store_filter(user: User, request: Request) -> str | None:
        store_id = request.query_params.get("store") or None
        if store_id is not None:
            require_store(user, store_id)
        return store_id

    # Login ---------------------------------------------------------------------------------

    @app.get("/login")
    async def login_form(request: Request) -> Response:
        q = request.query_params
        message = "Your session expired: log in again." if q.get("expired") else ""
        return html(pages.login_page(message, next_url=_safe_next(q.get("next"))))

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await _form(request)
        name, password = form.get("name", ""), form.get("password", "")
        user = s.users.get(name)
        next_url = _safe_next(form.get("next"))
        if user is None or not verify_password(password, user.password_hash):
            log.info("dashboard: failed login for %r", name)
            return html(
                pages.login_page(error="Unknown user or wrong password.", next_url=next_url), 401
            )
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(
            COOKIE,
            s.signer.issue(user.name, s.clock()),
            max_age=int(s.signer.ttl_s),
            httponly=True,
            samesite="lax",
            secure=s.secure_cookie,
        )
        return response

    @app.post("/logout")
    async def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.get("/static/live.js")
    async def live_js() -> Response:
        return Response(pages.LIVE_JS, media_type="text/javascript")

    @app.get("/")
    async def root() -> Response:
        return RedirectResponse("/fleet", status_code=303)

    # Fleet ---------------------------------------------------------------------------------

    @app.get("/fleet")
    async def fleet(request: Request) -> Response:
        user = current_user(request)
        return html(pages.fleet_page(fleet_rows(engine, s, user), user))

    @app.get("/fleet/live")
    async def fleet_live(request: Request) -> Response:
        user = current_user(request)
        return html(pages.fleet_rows(fleet_rows(engine, s, user)))

    @app.get("/api/fleet")
    async def fleet_json(request: Request) -> Response:
        user = current_user(request)
        return JSONResponse(fleet_rows(engine, s, user))

    # One store -----------------------------------------------------------------------------

    def store_live_html(store_id: str) -> str:
        hb, hb_age = latest_heartbeat(engine, store_id, s.clock())
        online = next((r.online for r in records.list_stores(engine, [store_id])), None)
        return pages.store_live(store_id, layout_of(s, store_id), hb, hb_age, online)

    @app.get("/stores/{store_id}")
    async def store(request: Request, store_id: str) -> Response:
        user = current_user(request)
        require_store(user, store_id)
        return html(pages.store_page(store_id, store_live_html(store_id), user))

    @app.get("/stores/{store_id}/live")
    async def store_live(request: Request, store_id: str) -> Response:
        user = current_user(request)
        require_store(user, store_id)
        return html(store_live_html(store_id))

    # Receipts ------------------------------------------------------------------------------

    @app.get("/receipts")
    async def receipts(request: Request) -> Response:
        user = current_user(request)
        store_id = store_filter(user, request)
        rows = records.list_receipts(engine, store_id=store_id, store_ids=user.scope, limit=200)
        return html(pages.receipts_page(rows, user, store_id))

    @app.get("/receipts/{receipt_id}")
    async def receipt(request: Request, receipt_id: str) -> Response:
        user = current_user(request)
        raw = request.query_params.get("revision")
        revision = None
        if raw is not None:
            if not raw.isdigit():
                return html(
                    pages.error_page("Bad request", f"revision {raw!r}: not a whole number", user),
                    400,
                )
            revision = int(raw)
        r = receipt_or_error(user, receipt_id, revision)
        return html(pages.receipt_page(r, revisions_of(engine, receipt_id), user))

    # Review --------------------------------------------------------------------------------

    @app.get("/review")
    async def review(request: Request) -> Response:
        user = current_user(request)
        store_id = store_filter(user, request)
        items = records.review_queue(
            engine, store_id=store_id, include_resolved=True, store_ids=user.scope
        )
        items.sort(key=lambda i: (i.resolution is not None, i.receipt.exited_at_unix_ns))
        return html(pages.review_page(items, user))

    def review_html(user: User, request: Request, receipt_id: str, error: str = "") -> str:
        latest = receipt_or_error(user, receipt_id)
        resolution = records.get_resolution(engine, receipt_id)
        flagged = (
            records.get_receipt(engine, receipt_id, resolution.original_revision)
            if resolution is not None
            else latest
        )
        csrf = s.signer.csrf(request.cookies.get(COOKIE, ""))
        products = products_of(s, flagged)
        clips = records.evidence_clips(engine, receipt_id)
        return pages.review_item_page(flagged, resolution, products, csrf, user, error, clips=clips)

    @app.get("/review/{receipt_id}")
    async def review_item(request: Request, receipt_id: str) -> Response:
        user = current_user(request)
        return html(review_html(user, request, receipt_id))

    @app.post("/review/{receipt_id}/resolve")
    async def resolve(request: Request, receipt_id: str) -> Response:
        user = current_user(request)
        receipt_or_error(user, receipt_id)  # 404 / 403 before anything else
        try:
            form = await _form(request)
        except ValueError as exc:
            return html(review_html(user, request, receipt_id, str(exc)), 400)
        if not s.signer.csrf_ok(request.cookies.get(COOKIE), form.get("csrf")):
            return html(
                pages.error_page(
                    "Forbidden", "the form's CSRF token is missing or wrong: reload the page", user
                ),
                403,
            )
        try:
            lines = parse_lines(form)
        except ValueError as exc:
            return html(review_html(user, request, receipt_id, str(exc)), 400)
        try:
            corrected = records.resolve_review(
                engine,
                receipt_id,
                lines=lines,
                resolved_by=user.name,
                note=form.get("note", "")[:2000],
                now_unix_ns=round(s.clock() * 1e9),
            )
        except records.RecordConflict as exc:
            return html(review_html(user, request, receipt_id, str(exc)), 409)
        except ValueError as exc:
            return html(review_html(user, request, receipt_id, str(exc)), 422)
        log.info(
            "dashboard: %s resolved %s into revision %d", user.name, receipt_id, corrected.revision
        )
        return RedirectResponse(
            f"/receipts/{receipt_id}?revision={corrected.revision}", status_code=303
        )

    # Trends --------------------------------------------------------------------------------

    @app.get("/trends")
    async def trends(request: Request) -> Response:
        user = current_user(request)
        store_id = store_filter(user, request)
        raw = request.query_params.get("bucket_s", "3600")
        if not raw.isdigit() or int(raw) <= 0:
            return html(
                pages.error_page("Bad request", f"bucket_s {raw!r}: not a positive number", user),
                400,
            )
        points = records.accuracy_trend(
            engine, store_id=store_id, bucket_s=int(raw), store_ids=user.scope
        )
        return html(pages.trends_page(points, int(raw), user, store_id))

    @app.exception_handler(404)
    async def not_found(request: Request, _exc: Exception) -> Response:
        return html(pages.error_page("Not found", f"no page {request.url.path!r}"), 404)

    return app


# Helpers ---------------------------------------------------------------------------------------


def _safe_next(value: str | None) -> str:
    """Only local paths: a login link must not send the user to another site."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/fleet"
    return value


async def _form(request: Request) -> dict[str, str]:
    """A url-encoded form body (first value of each field). ValueError names the problem."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ValueError(f"form: {len(body)} bytes is over the limit of {MAX_FORM_BYTES}")
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if body and kind != "application/x-www-form-urlencoded":
        raise ValueError(f"form: content type {kind!r}, expected application/x-www-form-urlencoded")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise ValueError("form: not UTF-8") from None
    return {k: v[0] for k, v in fields.items()}


def parse_lines(form: dict[str, str]) -> list[records.CorrectedLine]:
    """product_N / quantity_N pairs into corrected lines; ValueError names the line."""
    numbers = sorted(
        {
            int(k.split("_", 1)[1])
            for k in form
            if k.startswith(("product_", "quantity_")) and k.split("_", 1)[1].isdigit()
        }
    )
    if len(numbers) > MAX_FORM_LINES:
        raise ValueError(f"form: {len(numbers)} lines, at most {MAX_FORM_LINES}")
    lines = []
    for n in numbers:
        product = form.get(f"product_{n}", "").strip()
        raw = form.get(f"quantity_{n}", "").strip()
        if not product and not raw:
            continue  # an empty spare row
        if not product:
            raise ValueError(f"line {n}: quantity {raw!r} given without a product")
        if not raw:
            raise ValueError(f"line {n} ({product}): quantity missing")
        if not raw.isdigit():
            raise ValueError(f"line {n} ({product}): quantity {raw!r} is not a whole number >= 0")
        lines.append(records.CorrectedLine(product, int(raw)))
    return lines


def _known_stores(engine: Engine, s: DashboardSettings) -> set[str]:
    with engine.connect() as conn:
        ids = set(conn.execute(select(db.stores.c.store_id)).scalars())
    if s.store_configs is not None:
        ids |= {p.stem for p in s.store_configs.glob("*.yaml")}
    return ids


def layout_of(s: DashboardSettings, store_id: str) -> Any:
    """The store's layout from <store_configs>/<store_id>.yaml, loaded once; None when absent.
    A config that does not validate is logged (file, line, problem) and shown as no layout."""
    if store_id in s.layouts:
        return s.layouts[store_id]
    layout = None
    path = s.store_configs / f"{store_id}.yaml" if s.store_configs else None
    if path is not None and path.is_file():
        from edge.config import load_store_config
        from edge.config.layout import StoreLayout

        try:
            layout = StoreLayout(load_store_config(path))
        except Exception as exc:  # a bad file must not take the page down; say why in the log
            log.error("store config %s not loaded: %s", path, exc)
    s.layouts[store_id] = layout
    return layout


def products_of(s: DashboardSettings, receipt: Any) -> list[tuple[str, str]]:
    """Products a reviewer may put on a corrected receipt: the receipt's own lines, then the
    store's catalogue when its config is known (records.resolve_review checks the prices)."""
    out = {ln.product_id: ln.name for ln in receipt.lines}
    layout = layout_of(s, receipt.store_id)
    if layout is not None:
        for p in layout.config.products:
            out.setdefault(p.id, p.name)
    return list(out.items())


def revisions_of(engine: Engine, receipt_id: str) -> list[int]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(
                select(db.receipts.c.revision).where(db.receipts.c.receipt_id == receipt_id)
            ).scalars()
        )


def latest_heartbeat(
    engine: Engine, store_id: str, now_unix: float
) -> tuple[events_pb2.Heartbeat | None, float | None]:
    """The store's latest heartbeat and its age by the cloud's receive time."""
    with engine.connect() as conn:
        row = conn.execute(
            select(db.store_state).where(db.store_state.c.store_id == store_id)
        ).first()
    if row is None:
        return None, None
    return (
        events_pb2.Heartbeat.FromString(row.heartbeat),
        max(0.0, now_unix - row.received_unix_ns / 1e9),
    )


def fleet_rows(engine: Engine, s: DashboardSettings, user: User) -> list[dict[str, Any]]:
    """Every store the user may see, with its status (JSON-ready)."""
    now = s.clock()
    with engine.connect() as conn:
        states = {r.store_id: r for r in conn.execute(select(db.store_state)).all()}
    out = []
    for rec in records.list_stores(engine, user.scope):
        row = states.get(rec.store_id)
        hb = events_pb2.Heartbeat.FromString(row.heartbeat) if row is not None else None
        hb_age = None if row is None else max(0.0, now - row.received_unix_ns / 1e9)
        interval = hb.interval_s if hb is not None and hb.interval_s > 0 else 30.0
        if rec.online is False:
            status = "offline"
        elif hb_age is None:
            status = "no heartbeat"
        elif hb_age > s.stale_after_heartbeats * interval:
            status = "stale"
        else:
            status = "online"
        st = hb.store_state if hb is not None and hb.HasField("store_state") else None
        out.append(
            {
                "store_id": rec.store_id,
                "status": status,
                "ready": "?" if st is None else ("ready" if st.ready else "not ready"),
                "heartbeat_age_s": None if hb_age is None else round(hb_age, 1),
                "backlog": rec.outbox_backlog,
                "oldest_age_s": rec.outbox_oldest_age_s,
                "faults": 0 if hb is None else hb.active_faults,
                "open_visits": 0 if hb is None else hb.open_visits,
                "reviews_open": rec.reviews_open,
                "software_version": rec.software_version,
            }
        )
    return out
