"""Server-rendered HTML of the dashboard's pages (no template engine, no external assets).

Every value from the database or a store is escaped. Live parts of a page sit in an element with
`data-live="URL"`: live.js fetches that URL every 1.5 s and replaces the element's content with
the fragment the same functions render here.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import Any

from walkout.v1 import events_pb2

from cloud.dashboard.plots import (
    candidates_chart,
    clip_floor_plot,
    line_chart,
    weight_trace_chart,
)
from edge.health.floormap import Person, floor_map
from edge.health.readiness import STREAMING_KINDS, ReadinessLimits

SILENT_S = ReadinessLimits().data_age_s  # a streaming sensor silent this long is shown faulted

e = html.escape

CSS = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #243447; color: #fff; padding: 8px 18px; display: flex; gap: 18px;
  align-items: center; }
header a { color: #dfe8f2; text-decoration: none; } header a:hover { text-decoration: underline; }
header .who { margin-left: auto; } header form { display: inline; }
main { padding: 12px 18px; max-width: 1180px; }
table { border-collapse: collapse; margin: 6px 0 14px; background: #fff; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; font-size: 14px; }
th { background: #eef1f4; }
tr.bad td { background: #fde8e8; } tr.warn td { background: #fff4dc; }
.ok { color: #176b2c; font-weight: bold; } .bad { color: #a31515; font-weight: bold; }
.warn { color: #a86400; font-weight: bold; } .muted { color: #777; }
.cols { display: flex; gap: 22px; flex-wrap: wrap; align-items: flex-start; }
.msg { padding: 8px 12px; background: #fff4dc; border: 1px solid #e6c27a; }
.err { padding: 8px 12px; background: #fde8e8; border: 1px solid #e3a0a0; }
input, select, button { font-size: 14px; padding: 3px 6px; }
"""

LIVE_JS = """// Live updates: every element with data-live is refreshed from its URL every 1.5 s.
(function () {
  async function refresh(el) {
    try {
      const r = await fetch(el.dataset.live, {credentials: "same-origin",
                                              headers: {"Accept": "text/html"}});
      if (r.redirected || r.status === 401) { window.location = "/login?expired=1"; return; }
      if (r.ok) { el.innerHTML = await r.text(); el.dataset.updated = Date.now(); }
    } catch (err) { /* the server restarts: try again next round */ }
  }
  function tick() { document.querySelectorAll("[data-live]").forEach(refresh); }
  setInterval(tick, 1500);
})();
"""


def shell(title: str, body: str, user: Any | None = None, *, live: bool = False) -> str:
    """The page frame: header with navigation and the user, then `body`."""
    nav = ""
    if user is not None:
        nav = (
            '<a href="/fleet">Fleet</a><a href="/receipts">Receipts</a>'
            '<a href="/review">Review queue</a><a href="/trends">Trends</a>'
            f'<span class="who">{e(user.name)} ({e(user.role)})'
            ' <form method="post" action="/logout"><button type="submit">Log out</button>'
            "</form></span>"
        )
    script = '<script src="/static/live.js"></script>' if live else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)} · Walkout</title>
<link rel="icon" href="data:,"><style>{CSS}</style></head>
<body><header><strong>Walkout</strong>{nav}</header><main>
<h1>{e(title)}</h1>
{body}
</main>{script}</body></html>
"""


def error_page(title: str, message: str, user: Any | None = None) -> str:
    return shell(title, f'<p class="err">{e(message)}</p><p><a href="/fleet">Fleet</a></p>', user)


def login_page(message: str = "", error: str = "", next_url: str = "/fleet") -> str:
    note = f'<p class="msg">{e(message)}</p>' if message else ""
    bad = f'<p class="err">{e(error)}</p>' if error else ""
    body = f"""{note}{bad}
<form method="post" action="/login">
<input type="hidden" name="next" value="{e(next_url)}">
<p><label>User <input name="name" autocomplete="username" autofocus></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password">
</label></p>
<p><button type="submit">Log in</button></p></form>"""
    return shell("Log in", body)


def age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def money(minor: int, currency: str) -> str:
    return f"{minor / 100:.2f} {e(currency)}"


def when(unix_ns: int) -> str:
    if not unix_ns:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(unix_ns / 1e9)) + " UTC"


# Fleet -------------------------------------------------------------------------------------


def fleet_rows(rows: Sequence[dict[str, Any]]) -> str:
    """The fleet table (also the live fragment)."""
    body = "".join(
        f"<tr class='{'bad' if r['status'] != 'online' or r['faults'] else ''}' "
        f"data-store='{e(r['store_id'])}'>"
        f"<td><a href='/stores/{e(r['store_id'])}'>{e(r['store_id'])}</a></td>"
        f"<td class='status'><span class='{'ok' if r['status'] == 'online' else 'bad'}'>"
        f"{e(r['status'])}</span></td>"
        f"<td>{e(r['ready'])}</td><td>{age(r['heartbeat_age_s'])}</td>"
        f"<td>{'' if r['backlog'] is None else r['backlog']}</td>"
        f"<td>{age(r['oldest_age_s']) if r['backlog'] else ''}</td>"
        f"<td class='faults'>{r['faults']}</td><td>{r['open_visits']}</td>"
        f"<td>{r['reviews_open']}</td><td>{e(r['software_version'] or '')}</td></tr>"
        for r in rows
    )
    empty = "" if rows else "<tr><td colspan='10'>no store has reported yet</td></tr>"
    return (
        "<table id='fleet'><tr><th>store</th><th>status</th><th>ready</th>"
        "<th>last heartbeat</th><th>backlog</th><th>oldest</th><th>faults</th>"
        "<th>open visits</th><th>to review</th><th>software</th></tr>"
        f"{body}{empty}</table>"
    )


def fleet_page(rows: Sequence[dict[str, Any]], user: Any) -> str:
    body = f'<div data-live="/fleet/live">{fleet_rows(rows)}</div>'
    return shell("Fleet", body, user, live=True)


# One store ---------------------------------------------------------------------------------


def store_live(
    store_id: str,
    layout: Any,
    hb: events_pb2.Heartbeat | None,
    heartbeat_age_s: float | None,
    online: bool | None,
) -> str:
    """The live part of a store page: readiness, floor map, sensors, plates, visits, link."""
    if hb is None:
        return "<p class='msg'>No heartbeat with a store state received from this store yet.</p>"
    st = hb.store_state
    faults = {p.plate_id: p.kind for p in st.faulty_plates}
    people = [Person(t.track_id, t.x_m, t.y_m, t.visit_id) for t in st.tracks]
    svg = floor_map(layout, faults, people) if layout is not None else ""
    if not svg:
        svg = (
            f"<p class='msg'>No layout for {e(store_id)}: put its store config at "
            f"&lt;--store-configs&gt;/{e(store_id)}.yaml.</p>"
        )
    verdict = (
        "<span class='ok' id='ready'>READY</span>"
        if st.ready
        else "<span class='bad' id='ready'>NOT READY</span>"
    )
    reasons = "".join(f"<li>{e(r)}</li>" for r in st.not_ready_reasons)

    def sensor_row(s: events_pb2.SensorState) -> str:
        # Faulted: down, or connected and silent past the edge's readiness limit (a hung camera
        # keeps its connection and sends nothing: the edge's /readyz says "0 fps").
        silent = s.kind in STREAMING_KINDS and s.state == "connected" and s.data_age_s > SILENT_S
        bad = s.state not in ("connected", "starting") or silent
        extra = f"{s.fps:.1f} fps, {s.dropped_frames} dropped" if s.kind == "camera" else ""
        data_age = "never" if s.data_age_s < 0 else f"{s.data_age_s:.1f} s"
        return (
            f"<tr class='{'bad' if bad else ''}' data-sensor='{e(s.id)}' "
            f"data-state='{'faulted' if bad else 'ok'}'><td>{e(s.kind)}</td>"
            f"<td>{e(s.id)}</td><td>{e(s.state)}</td><td>{data_age}</td><td>{extra}</td>"
            f"<td>{s.faults}</td><td>{e(s.last_error)}</td></tr>"
        )

    sensors = "".join(sensor_row(s) for s in st.sensors)
    ports = "".join(
        f"<tr class='{'warn' if c.crc_errors or c.frames_lost else ''}'><td>{e(c.port)}</td>"
        f"<td>{c.frames_ok}</td><td>{c.crc_errors}</td><td>{c.frames_lost}</td>"
        f"<td>{c.bytes_discarded}</td></tr>"
        for c in st.shelf_controllers
    )
    plates = "".join(
        f"<tr class='{'warn' if p.kind in ('noisy', 'drifting') else 'bad'}' "
        f"data-plate='{e(p.plate_id)}'><td>{e(p.plate_id)}</td><td>{e(p.kind)}</td></tr>"
        for p in st.faulty_plates
    )
    visits = "".join(
        f"<tr data-visit='{e(v.visit_id)}'><td>{e(v.visit_id)}</td>"
        f"<td>{', '.join(str(t) for t in v.track_ids)}</td><td>{v.opened_t:.1f}</td>"
        f"<td>{'review' if v.needs_review else ''}</td></tr>"
        for v in st.open_visits
    )
    models = (
        "".join(
            f"<tr><td>{e(m.model_name)}</td><td>{e(m.version)}</td><td>{e(m.sha256[:12])}</td></tr>"
            for m in hb.models
        )
        or "<tr><td colspan='3' class='muted'>the edge reports no model versions yet</td></tr>"
    )
    link = "connected" if st.link_connected else "disconnected"
    availability = {True: "online", False: "offline", None: "unknown"}[online]
    return f"""<p>{verdict} · last heartbeat {age(heartbeat_age_s)} ago · availability
{availability} · link {link} · outbox backlog {hb.outbox_backlog}
({age(hb.outbox_oldest_age_s) if hb.outbox_backlog else "empty"}) · open visits
{len(st.open_visits)} · review queue {st.review_queue} · software {e(hb.software_version)}
· uptime {age(hb.uptime_s)}</p>
<ul id="reasons">{reasons}</ul>
<div class="cols"><div>{svg}
<p class="muted">Plates: green working, red stuck/dead/saturated, amber noisy or drifting.
Blue dots: people in a visit (label: visit id); grey: a track with no visit.</p></div>
<div><h2>Open visits</h2><table id="visits"><tr><th>visit</th><th>tracks</th>
<th>opened (store s)</th><th>flag</th></tr>{visits or "<tr><td colspan='4'>none</td></tr>"}
</table>
<h2>Plates with a fault</h2><table id="plates"><tr><th>plate</th><th>fault</th></tr>
{plates or "<tr><td colspan='2'>none</td></tr>"}</table>
<h2>Models</h2><table><tr><th>model</th><th>version</th><th>sha256</th></tr>{models}</table>
<p>Price book v{hb.price_book_version} · planogram v{hb.planogram_version}</p></div></div>
<h2>Sensors</h2><table id="sensors"><tr><th>kind</th><th>id</th><th>state</th><th>data age</th>
<th>rate</th><th>faults</th><th>last error</th></tr>{sensors}</table>
<h2>Shelf controllers</h2><table><tr><th>port</th><th>frames</th><th>CRC errors</th>
<th>lost</th><th>bytes skipped</th></tr>{ports}</table>
"""


def store_page(store_id: str, live_html: str, user: Any) -> str:
    body = (
        f'<p><a href="/receipts?store={e(store_id)}">Receipts</a> · '
        f'<a href="/review?store={e(store_id)}">Review queue</a> · '
        f'<a href="/trends?store={e(store_id)}">Trends</a></p>'
        f'<div id="live" data-live="/stores/{e(store_id)}/live">{live_html}</div>'
    )
    return shell(f"Store {store_id}", body, user, live=True)


# Receipts ----------------------------------------------------------------------------------


def receipts_page(receipts: Sequence[Any], user: Any, store_id: str | None) -> str:
    rows = "".join(
        f"<tr class='{'warn' if r.needs_review else ''}'>"
        f"<td><a href='/receipts/{e(r.receipt_id)}'>{e(r.receipt_id[:13])}</a></td>"
        f"<td>{e(r.store_id)}</td><td>{e(r.visit_id)}</td><td>{when(r.exited_at_unix_ns)}</td>"
        f"<td>{len(r.lines)}</td><td>{money(r.total_minor_units, r.currency)}</td>"
        f"<td>{r.revision}</td><td>{'review' if r.needs_review else ''}</td></tr>"
        for r in receipts
    )
    scope = f" of store {e(store_id)}" if store_id else ""
    body = (
        f"<p>The latest {len(receipts)} receipts{scope}, newest first.</p>"
        "<table id='receipts'><tr><th>receipt</th><th>store</th><th>visit</th><th>exit</th>"
        "<th>lines</th><th>total</th><th>revision</th><th>flag</th></tr>"
        f"{rows or '<tr><td colspan=8>none yet</td></tr>'}</table>"
    )
    return shell("Receipts", body, user)


def _lines_table(receipt: Any) -> str:
    rows = "".join(
        f"<tr><td>{e(line.product_id)}</td><td>{e(line.name)}</td><td>{line.quantity}</td>"
        f"<td>{money(line.unit_price_minor_units, line.currency)}</td>"
        f"<td>{money(line.line_total_minor_units, line.currency)}</td>"
        f"<td>{_evidence_text(line.evidence)}</td></tr>"
        for line in receipt.lines
    )
    return (
        "<table class='lines'><tr><th>product</th><th>name</th><th>qty</th><th>unit</th>"
        "<th>total</th><th>evidence</th></tr>"
        f"{rows or '<tr><td colspan=6>no lines: nothing was taken</td></tr>'}</table>"
    )


def _evidence_text(evidence: Sequence[dict[str, Any]]) -> str:
    out = []
    for ev in evidence:
        bits = [e(str(ev.get("source", "")))]
        if ev.get("delta_grams"):
            bits.append(f"{ev['delta_grams']:+.0f} g")
        if ev.get("track_id"):
            bits.append(f"track {ev['track_id']} at {ev.get('shopper_distance_m', 0):.2f} m")
        if ev.get("confidence"):
            bits.append(f"confidence {ev['confidence']:.2f}")
        if ev.get("competing"):
            bits.append(f"{len(ev['competing'])} other candidate(s)")
        out.append(", ".join(bits))
    return "<br>".join(out)


def receipt_page(receipt: Any, revisions: Sequence[int], user: Any) -> str:
    others = " ".join(
        f"<a href='/receipts/{e(receipt.receipt_id)}?revision={r}'>r{r}</a>"
        if r != receipt.revision
        else f"<strong>r{r}</strong>"
        for r in revisions
    )
    review = ""
    if receipt.needs_review:
        review = (
            f"<p class='msg'>Needs review: {e(', '.join(receipt.review_reasons))} "
            f"{e(receipt.review_note)} · "
            f"<a href='/review/{e(receipt.receipt_id)}'>review it</a></p>"
        )
    body = f"""{review}
<p>Store <a href="/stores/{e(receipt.store_id)}">{e(receipt.store_id)}</a> · visit
{e(receipt.visit_id)} · revision <span id="revision">{receipt.revision}</span> (all: {others}) ·
entered {when(receipt.entered_at_unix_ns)} · left {when(receipt.exited_at_unix_ns)} · price book
v{receipt.price_book_version}</p>
{_lines_table(receipt)}
<p>Total <strong id="total">{money(receipt.total_minor_units, receipt.currency)}</strong></p>"""
    return shell(f"Receipt {receipt.receipt_id[:13]}", body, user)


# Review ------------------------------------------------------------------------------------


def review_page(items: Sequence[Any], user: Any) -> str:
    rows = "".join(
        f"<tr><td><a href='/review/{e(i.receipt.receipt_id)}'>{e(i.receipt.receipt_id[:13])}</a>"
        f"</td><td>{e(i.receipt.store_id)}</td><td>{e(i.receipt.visit_id)}</td>"
        f"<td>{when(i.receipt.exited_at_unix_ns)}</td>"
        f"<td>{e(', '.join(i.receipt.review_reasons))}</td>"
        f"<td>{'resolved by ' + e(i.resolution.resolved_by) if i.resolution else 'open'}</td></tr>"
        for i in items
    )
    body = (
        "<table id='queue'><tr><th>receipt</th><th>store</th><th>visit</th><th>exit</th>"
        "<th>why</th><th>state</th></tr>"
        f"{rows or '<tr><td colspan=6>nothing to review</td></tr>'}</table>"
    )
    return shell("Review queue", body, user)


def review_item_page(
    receipt: Any,
    resolution: Any | None,
    products: Sequence[tuple[str, str]],
    csrf: str,
    user: Any,
    error: str = "",
    extra_rows: int = 2,
    clips: Sequence[Any] = (),
) -> str:
    """The evidence timeline of a flagged visit and the form that resolves it; `clips` are the
    receipt's evidence clips (records.evidence_clips) when the edge sent one."""
    timeline = []
    for n, line in enumerate(receipt.lines, 1):
        for ev in line.evidence:
            chart = candidates_chart(ev, receipt.visit_id)
            timeline.append(
                f"<li><strong>line {n}: {line.quantity} x {e(line.name)}</strong> · "
                f"{e(str(ev.get('source', '')))} · weight change "
                f"{ev.get('delta_grams', 0):+.0f} g · confidence "
                f"{ev.get('confidence', 0):.2f} · shelf event "
                f"{e(str(ev.get('shelf_event_id', '')))}<br>{chart}</li>"
            )
    options = "".join(
        f"<option value='{e(pid)}'>{e(pid)}: {e(name)}</option>" for pid, name in products
    )

    def row(i: int, pid: str, qty: int | str) -> str:
        opts = (
            options.replace(f"value='{e(pid)}'", f"value='{e(pid)}' selected") if pid else options
        )
        return (
            f"<tr><td><select name='product_{i}'><option value=''>(none)</option>{opts}</select>"
            f"</td><td><input name='quantity_{i}' value='{qty}' size='4'></td></tr>"
        )

    rows = [row(i, ln.product_id, ln.quantity) for i, ln in enumerate(receipt.lines, 1)]
    rows += [row(len(receipt.lines) + k, "", "") for k in range(1, extra_rows + 1)]
    bad = f"<p class='err' id='error'>{e(error)}</p>" if error else ""
    if resolution is not None:
        form = (
            f"<p class='msg'>Resolved by {e(resolution.resolved_by)} at "
            f"{when(resolution.resolved_unix_ns)}: revision {resolution.original_revision} → "
            f"<a href='/receipts/{e(receipt.receipt_id)}?revision="
            f"{resolution.corrected_revision}'>revision {resolution.corrected_revision}</a>"
            f" ({resolution.corrected_lines} line(s) changed). {e(resolution.note)}</p>"
        )
    else:
        form = f"""<h2>Resolve</h2>{bad}
<form method="post" action="/review/{e(receipt.receipt_id)}/resolve" id="resolve">
<input type="hidden" name="csrf" value="{e(csrf)}">
<table><tr><th>product</th><th>quantity (0 removes)</th></tr>{"".join(rows)}</table>
<p><label>Note <input name="note" size="60"></label></p>
<p><button type="submit">Save the corrected receipt</button></p></form>"""
    body = f"""<p>Store <a href="/stores/{e(receipt.store_id)}">{e(receipt.store_id)}</a> · visit
{e(receipt.visit_id)} · why: {e(", ".join(receipt.review_reasons))} {e(receipt.review_note)}</p>
<h2>As settled (revision {receipt.revision})</h2>{_lines_table(receipt)}
<h2>Evidence timeline</h2>
<p class="muted">Per line, in cart order: the shelf event, its weight change and the candidate
shoppers with their distance to the shelf and likelihood.</p>
<ol id="timeline">{"".join(timeline) or "<li>no evidence recorded</li>"}</ol>
{_clips_html(clips)}
{form}"""
    return shell(f"Review {receipt.receipt_id[:13]}", body, user)


def _clips_html(clips: Sequence[Any]) -> str:
    """What the sensors saw around each uncertain event: the weight trace with the event's span
    shaded, and the tracks near the shelf with the chosen shopper highlighted."""
    items = [item for clip in clips for item in clip.items]
    if not items:
        return (
            "<h2>Sensor clips</h2><p class='muted' id='clips'>No evidence clip from the edge "
            "for this receipt (an older edge, or not arrived yet).</p>"
        )
    out = []
    for item in items:
        decided = (
            f"given to {e(item.chosen_visit_id)} (track {item.chosen_track_id}): "
            f"{item.quantity} x {e(item.product_id)}"
            if item.chosen_visit_id
            else "given to nobody"
        )
        out.append(
            f"<li data-shelf-event='{e(item.shelf_event_id)}'><strong>shelf event "
            f"{e(item.shelf_event_id)}</strong> · {e(item.reason)} · {decided} · "
            f"{len(item.tracks)} track(s) near the shelf<br>"
            f"{weight_trace_chart(item)} {clip_floor_plot(item)}</li>"
        )
    return f"""<h2>Sensor clips</h2>
<p class="muted">Per uncertain event, from the edge: the shelf's weight a few seconds either side
(total and each changed plate; the event shaded) and where the shoppers near the shelf walked and
reached (dots: hands; thick: the chosen shopper).</p>
<ol id="clips">{"".join(out)}</ol>"""


# Trends ------------------------------------------------------------------------------------


def trends_page(points: Sequence[Any], bucket_s: int, user: Any, store_id: str | None) -> str:
    labels = [
        time.strftime("%m-%d %H:%M", time.gmtime(p.bucket_start_unix_ns / 1e9)) for p in points
    ]
    rate = line_chart(
        labels,
        {
            "review rate": [p.review_rate for p in points],
            "lines corrected per receipt": [
                p.corrected_lines / p.receipts if p.receipts else 0.0 for p in points
            ],
        },
        title="Review rate and reviewer corrections",
        y_max=1.0,
    )
    volume = line_chart(labels, {"receipts": [p.receipts for p in points]}, title="Receipts")
    rows = "".join(
        f"<tr><td>{e(lab)}</td><td>{p.receipts}</td><td>{p.reviewed}</td>"
        f"<td>{p.review_rate:.1%}</td><td>{p.resolved}</td><td>{p.corrected_lines}</td></tr>"
        for lab, p in zip(labels, points, strict=True)
    )
    scope = f"store {e(store_id)}" if store_id else "every store you may see"
    body = f"""<p>Per {bucket_s // 60} min of exit time, {scope}. Accuracy against ground truth is
not known in the cloud: the corrections reviewers make are its measured proxy.</p>
{rate}<br>{volume}
<table><tr><th>from (UTC)</th><th>receipts</th><th>flagged</th><th>review rate</th>
<th>resolved</th><th>lines corrected</th></tr>{rows}</table>"""
    return shell("Trends", body, user)
