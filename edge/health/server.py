"""The edge's health server: `/healthz`, `/readyz`, `/metrics` and a local status page `/`.

A stdlib HTTP server in a background thread: it works with no cloud and no internet, and reads
only the core thread's latest status snapshot (`LiveRuntime.last_status`) and the metrics
registry, so a slow client never touches the pipeline.
"""

from __future__ import annotations

import html
import json
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from edge.health.floormap import floor_map as draw_floor_map
from edge.health.floormap import people_from_status
from edge.health.metrics import exposition, make_registry
from edge.health.readiness import ReadinessLimits, readiness


@dataclass
class HealthServer:
    """A running health server; `stop()` shuts it down."""

    httpd: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def start_health_server(
    runtime: Any,
    host: str = "127.0.0.1",
    port: int = 9108,
    limits: ReadinessLimits = ReadinessLimits(),
) -> HealthServer:
    """Serve the runtime's health on host:port (port 0: any free port) in a daemon thread."""
    registry = make_registry(runtime)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            status = runtime.last_status
            if path == "/healthz":
                self._send(HTTPStatus.OK, "text/plain; charset=utf-8", b"ok\n")
            elif path == "/readyz":
                reasons = readiness(status, limits) if status else ["starting: no status yet"]
                body = json.dumps({"ready": not reasons, "reasons": reasons}, indent=1)
                code = HTTPStatus.OK if not reasons else HTTPStatus.SERVICE_UNAVAILABLE
                self._send(code, "application/json", body.encode() + b"\n")
            elif path == "/metrics":
                self._send(HTTPStatus.OK, CONTENT_TYPE_LATEST, exposition(registry))
            elif path == "/":
                reasons = readiness(status, limits) if status else ["starting: no status yet"]
                svg = floor_map(getattr(runtime, "layout", None), status)
                page = status_page(status, reasons, svg)
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", page.encode())
            else:
                body = f"unknown path {path!r}: try /, /healthz, /readyz or /metrics\n"
                self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", body.encode())

        def _send(self, code: HTTPStatus, content_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # scrapes every few seconds would flood the journal

    httpd = ThreadingHTTPServer((host, port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, name="health", daemon=True)
    thread.start()
    return HealthServer(httpd, thread)


def floor_map(layout: Any, status: dict[str, Any], width_px: int = 640) -> str:
    """The floor map of a status snapshot: plates coloured by fault, people with their visits
    (edge/health/floormap.py). Empty without a layout."""
    return draw_floor_map(
        layout, status.get("plate_faults", {}), people_from_status(status), width_px
    )


def status_page(status: dict[str, Any], reasons: list[str], floor_svg: str = "") -> str:
    """A self-contained HTML page (no external assets), refreshed every 2 s."""
    e = html.escape
    ready = not reasons
    rows = "".join(
        f"<tr class='{'ok' if d['state'] == 'connected' else 'bad'}'><td>{e(d['kind'])}</td>"
        f"<td>{e(d['name'])}</td><td>{e(d['state'])}</td><td>{d['faults']}</td>"
        f"<td>{'' if d.get('data_age_s') is None else d['data_age_s']}</td>"
        f"<td>{e(d.get('last_error') or '')}</td></tr>"
        for d in status.get("drivers", [])
    )
    faults = status.get("plate_faults", {})
    plates = "".join(f"<li>plate {e(ref)}: {e(kind)}</li>" for ref, kind in faults.items())
    visit_tracks = status.get("visit_tracks") or {}
    flagged = set(status.get("review_visits") or [])
    visits = "".join(
        f"<tr><td>{e(v)}</td><td>{', '.join(str(t) for t in visit_tracks.get(v, []))}</td>"
        f"<td>{'review' if v in flagged else ''}</td></tr>"
        for v in status.get("open_visits", [])
    )
    core = status.get("core", {})
    outbox = status.get("outbox") or {}
    link = status.get("link")
    verdict = "READY" if ready else "NOT READY"
    why = "".join(f"<li>{e(r)}</li>" for r in reasons)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>Walkout edge {e(str(status.get("store_id", "")))}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
.ready {{ color: #176b2c; }} .notready {{ color: #a31515; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 2px 8px; }}
tr.bad td {{ background: #fde8e8; }}
</style></head><body>
<h1>Store {e(str(status.get("store_id", "?")))}:
<span class="{"ready" if ready else "notready"}">{verdict}</span></h1>
<ul>{why}</ul>
<p>Open visits: {len(status.get("open_visits", []))} · review queue:
{status.get("review_queue", 0)} · receipts: {core.get("receipts", 0)} · shelf events:
{core.get("shelf_events", 0)} · outbox backlog: {outbox.get("backlog", 0)} · cloud link:
{"off" if link is None else ("connected" if link.get("ready") else "disconnected")}</p>
<h2>Sensors</h2>
<table><tr><th>kind</th><th>name</th><th>state</th><th>faults</th><th>data age (s)</th>
<th>last error</th></tr>{rows}</table>
<h2>Floor</h2>{floor_svg or "<p>(no layout)</p>"}
<h2>Open visits</h2>
<table><tr><th>visit</th><th>tracks</th><th>flag</th></tr>{visits}</table>
<h2>Plates with a fault</h2><ul>{plates or "<li>none</li>"}</ul>
<p>Metrics: <a href="/metrics">/metrics</a> · readiness: <a href="/readyz">/readyz</a></p>
</body></html>
"""
