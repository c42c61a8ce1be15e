"""Edge health: readiness rules, the HTTP endpoints and the Prometheus exposition."""

from __future__ import annotations

import json
import os
import threading
import time
import tty
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge.config.loader import resolve_store
from edge.health.readiness import ReadinessLimits, readiness
from edge.health.server import start_health_server
from edge.live.runtime import LiveOptions, LiveRuntime
from edge.shelf.protocol import BoardEncoder


def driver(kind: str, name: str, state: str = "connected", age: float | None = 0.1) -> dict:
    return {
        "kind": kind,
        "name": name,
        "state": state,
        "faults": 0,
        "data_age_s": age,
        "last_error": None if state == "connected" else "No such file or directory",
    }


def fine() -> dict[str, Any]:
    return {
        "store_id": "demo-small",
        "healthy": True,
        "drivers": [
            driver("serial", "/dev/ttyUSB0"),
            driver("pcsc", "Virtual PCD 00 00", age=None),  # quiet between taps: fine
            driver("camera", "cam-1"),
        ],
        "vision": {"last_tick_age_s": 0.1},
        "outbox": {"backlog": 3, "oldest_age_s": 1.0},
        "open_visits": ["v0001"],
        "core": {"receipts": 2, "shelf_events": 7},
        "plate_faults": {},
        "review_queue": 0,
        "link": None,
    }


CASES = [
    ("all fine", lambda s: s, []),
    ("core loop stopped", lambda s: s | {"healthy": False}, ["pipeline"]),
    (
        "serial port unplugged",
        lambda s: s | {"drivers": [driver("serial", "/dev/ttyUSB0", "reconnecting")]},
        ["serial /dev/ttyUSB0: reconnecting: No such file"],
    ),
    (
        "shelf board silent",
        lambda s: s | {"drivers": [driver("serial", "/dev/ttyUSB0", age=9.0)]},
        ["serial /dev/ttyUSB0: no data for 9.0 s"],
    ),
    (
        "camera at 0 fps",
        lambda s: s | {"drivers": [driver("camera", "cam-1", age=3.5)]},
        ["camera cam-1: 0 fps"],
    ),
    (
        "stuck plate (a noisy one still weighs)",
        lambda s: s | {"plate_faults": {"1.2.3": "stuck", "1.2.4": "noisy"}},
        ["plate 1.2.3: stuck"],
    ),
    ("stuck detector", lambda s: s | {"vision": {"last_tick_age_s": 12.0}}, ["detector: stuck"]),
    (
        "backlog over its limit",
        lambda s: s | {"outbox": {"backlog": 60_000, "oldest_age_s": 10.0}},
        ["outbox: 60000 events"],
    ),
    (
        "oldest event too old",
        lambda s: s | {"outbox": {"backlog": 5, "oldest_age_s": 7200.0}},
        ["outbox: oldest unacknowledged event is 7200 s old"],
    ),
]


@pytest.mark.parametrize(("name", "change", "expected"), CASES, ids=[c[0] for c in CASES])
def test_readiness_rules(name: str, change: Any, expected: list[str]) -> None:
    reasons = readiness(change(fine()), ReadinessLimits())
    assert len(reasons) == len(expected), reasons
    for reason, start in zip(reasons, expected, strict=True):
        assert reason.startswith(start), reason


class FakeRuntime:
    vision = None

    def __init__(self, status: dict[str, Any]) -> None:
        self.last_status = status


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_floor_map_marks_faulty_plates_red() -> None:
    from edge.config import load_store_config
    from edge.config.layout import StoreLayout
    from edge.health.server import floor_map

    layout = StoreLayout(load_store_config("small"))
    svg = floor_map(layout, {"plate_faults": {"1.2.3": "stuck"}})
    assert svg.startswith("<svg") and svg.count("<line") == len(layout.plate_geometry)
    assert svg.count('stroke="#d11"') == 1
    assert "<title>plate 1.2.3: stuck</title>" in svg
    assert floor_map(None, {}) == ""


def test_endpoints_on_a_real_server() -> None:
    status = fine() | {
        "shelf_ports": {
            "/dev/ttyUSB0": {
                "frames_ok": 120,
                "crc_errors": 2,
                "frames_lost": 1,
                "bytes_discarded": 40,
            }
        },
        "plate_faults": {"1.2.3": "stuck"},
        "frames": {"cam-1": {"received": 300, "dropped": 12}},
    }
    runtime = FakeRuntime(status)
    server = start_health_server(runtime, port=0)
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert get(base + "/healthz")[0] == 200
        code, ctype, body = get(base + "/readyz")
        # A stuck plate cannot weigh a pick: the store is not ready, and says which plate.
        assert code == 503 and json.loads(body) == {
            "ready": False,
            "reasons": ["plate 1.2.3: stuck"],
        }
        code, ctype, text = get(base + "/metrics")
        assert code == 200 and ctype.startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(text)}
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in families.values()
            for s in f.samples
        }
        assert samples[("walkout_shelf_crc_errors_total", (("port", "/dev/ttyUSB0"),))] == 2
        assert samples[("walkout_plate_faults", (("kind", "stuck"),))] == 1
        assert samples[("walkout_camera_dropped_frames_total", (("camera", "cam-1"),))] == 12
        assert samples[("walkout_open_visits", ())] == 1
        assert samples[("walkout_outbox_backlog", ())] == 3
        # Conventions: every counter's samples end in _total; time in seconds.
        for f in families.values():
            assert f.name.startswith("walkout_")
            if f.type == "counter":
                assert all(s.name.endswith(("_total", "_created")) for s in f.samples), f.name
            assert "_ms" not in f.name and "millis" not in f.name
        code, ctype, page = get(base + "/")
        assert code == 200 and "demo-small" in page and "READY" in page and "1.2.3" in page
        assert get(base + "/nope")[0] == 404
        # A camera goes dark: not ready, and the reason names it.
        runtime.last_status = status | {"drivers": [driver("camera", "cam-1", age=4.0)]}
        code, _, body = get(base + "/readyz")
        assert code == 503 and json.loads(body)["reasons"] == [
            "camera cam-1: 0 fps",
            "plate 1.2.3: stuck",
        ]
        assert "NOT READY" in get(base + "/")[2]
    finally:
        server.stop()


def test_live_runtime_serves_its_health_and_turns_not_ready_when_a_board_goes_quiet(
    tmp_path: Path,
) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    port = tmp_path / "ttyUSB0"
    port.symlink_to(os.ttyname(slave))
    text = resolve_store("small")[1].replace("/dev/ttyUSB0", str(port))
    text = text.replace("readers: [Virtual PCD 00 00]", "readers: []")
    text = text.replace("readers: [Virtual PCD 00 01]", "readers: []")
    config = tmp_path / "store.yaml"
    config.write_text(text)
    runtime = LiveRuntime(
        config,
        LiveOptions(data_dir=tmp_path / "data", cameras=False, health_port=0, status_period_s=0.2),
    )
    runner = threading.Thread(target=runtime.run)
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while runtime.health is None and time.monotonic() < deadline:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{runtime.health.port}"
        enc = BoardEncoder(1, 12)
        ready_seen = False
        for _ in range(60):  # the board streams for a while: ready
            os.write(master, enc.samples([[1000] * 12] * 6))
            time.sleep(0.05)
            if get(base + "/readyz")[0] == 200:
                ready_seen = True
        assert ready_seen
        time.sleep(3.0)  # the board stops: within a few seconds, not ready, naming the port
        code, _, body = get(base + "/readyz")
        assert code == 503
        assert any(str(port) in r for r in json.loads(body)["reasons"])
        families = {f.name for f in text_string_to_metric_families(get(base + "/metrics")[2])}
        assert {"walkout_shelf_frames", "walkout_receipts", "walkout_open_visits"} <= families
        page = get(base + "/")[2]
        assert "<svg" in page and "plate 1.1.1" in page  # the floor map of the store
    finally:
        runtime.request_stop()
        runner.join(timeout=10)
        os.close(master)
        os.close(slave)
