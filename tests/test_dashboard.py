"""The operator dashboard (cloud/dashboard/) in Debian's Chromium through Playwright, on a real
uvicorn server over a SQLite cloud database filled by the real ingest worker.

Screenshots go to test-artifacts/dashboard/ (git-ignored)."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from test_evidence_clip import clip_event
from test_records import STORE, ingest, price_book, receipt_event, rid
from walkout.v1 import SCHEMA_VERSION, events_pb2

from cloud import db, records
from cloud.dashboard.app import DashboardSettings, make_app
from cloud.dashboard.auth import SessionSigner, User, hash_password, load_users
from cloud.dashboard.server import run_app
from edge.config import resolve_store
from edge.link import topics
from edge.link.mqtt import Event

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "dashboard"
T_NOW = 1_700_001_000.0  # the dashboard's clock (unix s), shortly after the receipts
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw"}

needs_chromium = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed"
)


def heartbeat_event(store: str, sequence: int, *, frozen: str | None = "1.2.3") -> Event:
    msg = events_pb2.EdgeEvent()
    h = msg.header
    h.event_id, h.store_id, h.stream, h.sequence = f"hb-{store}-{sequence}", store, "heartbeats", 1
    h.sequence = sequence
    h.event_time_unix_ns = round(T_NOW * 1e9)
    h.schema_version = SCHEMA_VERSION
    hb = msg.heartbeat
    hb.software_version, hb.interval_s, hb.uptime_s = "0.1.0", 2.0, 300.0
    st = hb.store_state
    st.ready = frozen is None
    if frozen:
        st.not_ready_reasons.append(f"plate {frozen}: stuck")
        st.faulty_plates.add(plate_id=frozen, kind="stuck")
    st.faulty_plates.add(plate_id="1.1.1", kind="noisy")
    st.sensors.add(id="/dev/ttyS9", kind="serial", state="connected", data_age_s=0.02)
    st.sensors.add(id="cam-1", kind="camera", state="connected", data_age_s=0.1, fps=14.9)
    st.sensors.add(id="Virtual PCD 00 00", kind="reader", state="connected", data_age_s=-1)
    st.shelf_controllers.add(port="/dev/ttyS9", frames_ok=18000, crc_errors=2)
    st.tracks.add(track_id=7, x_m=2.0, y_m=2.5, visit_id="visit-9")
    st.tracks.add(track_id=8, x_m=3.2, y_m=1.4)
    st.open_visits.add(visit_id="visit-9", track_ids=[7], opened_t=120.0)
    st.link_connected = True
    hb.open_visits, hb.active_faults = 1, 2
    return Event("message", 1, topic=topics.heartbeat(store), payload=msg.SerializeToString())


@dataclass
class Site:
    url: str
    engine: object
    clock: list[float]
    settings: DashboardSettings


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("dashboard")
    engine = db.make_engine(f"sqlite:///{tmp / 'cloud.sqlite'}")
    records.put_config(engine, "price_book", STORE, price_book(), now_unix_ns=1)
    ingest(
        engine,
        [
            receipt_event(STORE, 1),
            receipt_event(STORE, 2, lines={"sku-cola": 2, "sku-gum": 1}, needs_review=True),
            receipt_event(STORE, 3, needs_review=True),
            clip_event(STORE, rid(STORE, 2)),  # the evidence clip of the flagged receipt 2
            receipt_event("store-2", 1),
            heartbeat_event(STORE, 5),
        ],
    )
    configs = tmp / "stores"
    configs.mkdir()
    data = yaml.safe_load(resolve_store("small")[1])
    data["store"]["id"] = STORE
    (configs / f"{STORE}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    users_file = tmp / "users.yaml"
    users_file.write_text(
        yaml.safe_dump(
            {
                "users": [
                    {"name": "alice", "role": "admin", "password_hash": hash_password("alice-pw")},
                    {
                        "name": "bob",
                        "role": "staff",
                        "stores": ["store-2"],
                        "password_hash": hash_password("bob-pw"),
                    },
                ]
            }
        )
    )
    clock = [T_NOW]
    settings = DashboardSettings(
        users=load_users(users_file),
        signer=SessionSigner(b"test-secret", ttl_s=600.0),
        store_configs=configs,
        clock=lambda: clock[0],
    )
    running = run_app(make_app(engine, settings), "127.0.0.1", 0)
    port = running.server.servers[0].sockets[0].getsockname()[1]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield Site(f"http://127.0.0.1:{port}", engine, clock, settings)
    running.stop()
    engine.dispose()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Tab:
    """A browser tab that records console errors and uncaught page errors."""

    def __init__(self, browser: object, site: Site) -> None:
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.site = site
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def go(self, path: str) -> object:
        return self.page.goto(self.site.url + path)

    def login(self, name: str) -> None:
        self.go("/login")
        self.page.fill("input[name=name]", name)
        self.page.fill("input[name=password]", PASSWORDS[name])
        self.page.click("button[type=submit]")
        self.page.wait_for_url("**/fleet")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser: object, site: Site) -> Iterator[Tab]:
    site.clock[0] = T_NOW
    t = Tab(browser, site)
    yield t
    t.close()


@needs_chromium
def test_every_page_loads_without_console_errors(tab: Tab) -> None:
    tab.login("alice")
    flagged = rid(STORE, 2)
    for path in [
        "/fleet",
        f"/stores/{STORE}",
        "/receipts",
        f"/receipts/{rid(STORE, 1)}",
        "/review",
        f"/review/{flagged}",
        "/trends",
    ]:
        response = tab.go(path)
        assert response.status == 200, path  # type: ignore[attr-defined]
        assert tab.page.locator("h1").count() == 1, path
    tab.go("/fleet")
    row = tab.page.locator(f"#fleet tr[data-store='{STORE}']")
    assert row.locator(".faults").inner_text() == "2"
    assert tab.page.locator("#fleet tr[data-store='store-2']").count() == 1
    tab.page.screenshot(path=str(ARTIFACTS / "fleet.png"), full_page=True)
    tab.go(f"/stores/{STORE}")
    assert tab.page.locator("#ready").inner_text() == "NOT READY"
    assert "plate 1.2.3: stuck" in tab.page.locator("#reasons").inner_text()
    assert tab.page.locator("svg [data-plate='1.2.3']").get_attribute("data-state") == "stuck"
    assert tab.page.locator("svg .person[data-visit='visit-9']").count() == 1
    # The live part is replaced from /stores/<id>/live: wait for one refresh round.
    tab.page.wait_for_function("document.getElementById('live').dataset.updated !== undefined")
    assert tab.page.locator("#sensors tr[data-sensor='cam-1']").inner_text().count("14.9 fps")
    tab.page.screenshot(path=str(ARTIFACTS / "store.png"), full_page=True)
    tab.go(f"/review/{flagged}")
    assert tab.page.locator("#timeline svg").count() == 2  # one chart per line's evidence
    # The edge's clip: the weight trace with the event's span, the tracks near the shelf.
    trace = tab.page.locator("#clips svg.weight-trace")
    assert trace.count() == 1
    assert trace.locator(".event-span").count() == 1
    assert trace.locator("polyline.trace").count() == 2  # the shelf total and plate 1
    floor = tab.page.locator("#clips svg.clip-floor")
    assert floor.locator(".clip-track").count() == 2
    assert floor.locator(".clip-track[data-chosen='yes']").get_attribute("data-track") == "4"
    tab.page.screenshot(path=str(ARTIFACTS / "review.png"), full_page=True)
    tab.go("/trends")
    tab.page.screenshot(path=str(ARTIFACTS / "trends.png"), full_page=True)
    assert tab.errors == []


@needs_chromium
def test_staff_see_only_their_store_and_unknown_ids_are_named(tab: Tab) -> None:
    tab.login("bob")
    assert tab.page.locator("#fleet tr[data-store]").count() == 1
    assert tab.page.locator("#fleet tr[data-store='store-2']").count() == 1
    response = tab.go(f"/stores/{STORE}")
    assert response.status == 403  # type: ignore[attr-defined]
    assert "may not see store 'store-1'" in tab.page.locator(".err").inner_text()
    response = tab.go(f"/receipts/{rid(STORE, 1)}")
    assert response.status == 403  # type: ignore[attr-defined]
    response = tab.go("/stores/no-such-store")
    assert response.status == 404  # type: ignore[attr-defined]
    assert "no store 'no-such-store'" in tab.page.locator(".err").inner_text()
    response = tab.go("/receipts/deadbeef")
    assert response.status == 404  # type: ignore[attr-defined]
    assert "deadbeef" in tab.page.locator(".err").inner_text()
    response = tab.go("/receipts")
    assert STORE not in tab.page.locator("#receipts").inner_text()
    # Resource failures of the 403/404 pages are the only console errors.
    assert all("status of 40" in e for e in tab.errors), tab.errors


@needs_chromium
def test_wrong_password_and_expired_session(tab: Tab, site: Site) -> None:
    tab.go("/login")
    tab.page.fill("input[name=name]", "alice")
    tab.page.fill("input[name=password]", "nope")
    tab.page.click("button[type=submit]")
    assert "wrong password" in tab.page.locator(".err").inner_text()
    cookies = tab.context.cookies()
    assert not [c for c in cookies if c["name"] == "walkout_session"]
    tab.login("alice")
    (cookie,) = [c for c in tab.context.cookies() if c["name"] == "walkout_session"]
    assert cookie["httpOnly"]
    site.clock[0] = T_NOW + 601  # past the 600 s session life
    tab.go(f"/stores/{STORE}")
    assert "/login" in tab.page.url and "expired=1" in tab.page.url
    assert "session expired" in tab.page.locator(".msg").inner_text()
    tab.page.fill("input[name=name]", "alice")
    tab.page.fill("input[name=password]", PASSWORDS["alice"])
    tab.page.click("button[type=submit]")
    tab.page.wait_for_url(f"**/stores/{STORE}")  # back where the user was going


def _counts(engine: object) -> dict[str, int]:
    return db.counts(engine) | {  # type: ignore[arg-type]
        "resolutions": len(records.review_queue(engine, include_resolved=True))  # type: ignore[arg-type]
    }


@needs_chromium
def test_resolving_a_review_in_the_browser_writes_the_corrected_revision(
    tab: Tab, site: Site
) -> None:
    flagged = rid(STORE, 2)  # 2 cola and 1 gum, flagged
    tab.login("alice")
    tab.go(f"/review/{flagged}")
    before = _counts(site.engine)
    # Malformed input: named, 400, nothing written.
    tab.page.fill("input[name=quantity_1]", "two")
    tab.page.click("#resolve button[type=submit]")
    assert "quantity 'two' is not a whole number" in tab.page.locator("#error").inner_text()
    assert _counts(site.engine) == before
    # An unknown product (a catalogue product without a price): 422, nothing written.
    tab.page.select_option("select[name=product_3]", "P0001")
    tab.page.fill("input[name=quantity_3]", "1")
    tab.page.fill("input[name=quantity_1]", "1")
    tab.page.click("#resolve button[type=submit]")
    assert "P0001" in tab.page.locator("#error").inner_text()
    assert _counts(site.engine) == before
    # A good correction: 2 cola and 1 gum settled; the reviewer says 1 cola and 2 gum.
    tab.page.fill("input[name=quantity_1]", "1")
    tab.page.fill("input[name=quantity_2]", "2")
    tab.page.fill("input[name=note]", "gum seen on camera")
    tab.page.click("#resolve button[type=submit]")
    tab.page.wait_for_url(f"**/receipts/{flagged}?revision=1")
    assert tab.page.locator("#revision").inner_text() == "1"
    tab.page.screenshot(path=str(ARTIFACTS / "corrected.png"), full_page=True)
    corrected = records.get_receipt(site.engine, flagged)  # type: ignore[arg-type]
    assert corrected.revision == 1 and not corrected.needs_review
    assert [(ln.product_id, ln.quantity) for ln in corrected.lines] == [
        ("sku-cola", 1),
        ("sku-gum", 2),
    ]
    with site.engine.connect() as conn:  # type: ignore[attr-defined]
        revisions = sorted(
            conn.execute(
                select(db.receipts.c.revision).where(db.receipts.c.receipt_id == flagged)
            ).scalars()
        )
    assert revisions == [0, 1]
    tab.go(f"/review/{flagged}")
    assert "Resolved by alice" in tab.page.locator(".msg").inner_text()
    assert tab.errors == [] or all("status of 4" in e for e in tab.errors), tab.errors


def test_resolve_without_csrf_token_is_refused_and_changes_nothing(site: Site) -> None:
    signer = site.settings.signer
    cookie = signer.issue("alice", site.clock[0])
    flagged = rid(STORE, 3)
    before = db.counts(site.engine)  # type: ignore[arg-type]
    for token, expected in [("", 403), ("forged", 403)]:
        body = urllib.parse.urlencode(
            {"csrf": token, "product_1": "sku-cola", "quantity_1": "1"}
        ).encode()
        request = urllib.request.Request(
            f"{site.url}/review/{flagged}/resolve",
            data=body,
            headers={
                "Cookie": f"walkout_session={cookie}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=10)
        assert info.value.code == expected
        assert "CSRF" in info.value.read().decode()
    assert db.counts(site.engine) == before  # type: ignore[arg-type]


def test_fleet_json_needs_a_session_and_lists_the_store_state(site: Site) -> None:
    request = urllib.request.Request(f"{site.url}/api/fleet")
    with urllib.request.urlopen(request, timeout=10) as response:  # follows to /login
        assert "/login" in response.url
    cookie = site.settings.signer.issue("alice", site.clock[0])
    request = urllib.request.Request(
        f"{site.url}/api/fleet", headers={"Cookie": f"walkout_session={cookie}"}
    )
    import json

    with urllib.request.urlopen(request, timeout=10) as response:
        rows = {r["store_id"]: r for r in json.loads(response.read())}
    assert rows[STORE]["status"] == "online" and rows[STORE]["ready"] == "not ready"
    assert rows[STORE]["open_visits"] == 1 and rows[STORE]["faults"] == 2
    assert rows["store-2"]["status"] == "no heartbeat"


def test_users_file_errors_name_the_entry(tmp_path: Path) -> None:
    from cloud.dashboard.auth import UsersFileError

    bad = tmp_path / "users.yaml"
    bad.write_text("users:\n  - {name: x, role: boss, password_hash: 'scrypt$1$1$1$00$00'}\n")
    with pytest.raises(UsersFileError, match=r"users\[0\]\.role: 'boss'"):
        load_users(bad)
    bad.write_text("users:\n  - {name: x, role: staff, password_hash: 'scrypt$1$1$1$00$00'}\n")
    with pytest.raises(UsersFileError, match=r"users\[0\]\.stores: a staff user needs"):
        load_users(bad)
    user = User("x", "staff", frozenset({"a"}), hash_password("pw", salt=b"0" * 16))
    assert user.may_see("a") and not user.may_see("b") and user.scope == {"a"}


@pytest.fixture
def pcscd():
    from sim.live.pcscd import list_readers, start_pcscd, stop_pcscd

    if not Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so").exists():
        pytest.skip("pcscd and vsmartcard-vpcd not installed")
    if list_readers():
        pytest.fail("another pcscd is already running: the live tests need their own")
    proc = start_pcscd()
    yield proc
    stop_pcscd(proc)


def _readyz(port: int) -> tuple[int, dict]:
    import json

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
    except (urllib.error.URLError, ConnectionError):
        return 0, {}


@needs_chromium
@dataclass
class LiveStore:
    """A simulated store playing live into `walkout edge run`, whose heartbeats reach the
    dashboard through a real mosquitto and ingest worker; `tab` is logged out."""

    player: object
    tab: Tab
    store_id: str
    health_port: int


@contextmanager
def live_store(
    tmp_path: Path,
    browser: object,
    *,
    cameras: object = None,
    only_camera: str | None = None,
    edge_args: tuple[str, ...] = (),
) -> Iterator[LiveStore]:
    """Generate one-shopper seed 1 (with `cameras`: sim.render.video.CameraOptions), start the
    broker, ingest, the dashboard, the edge (1 s heartbeats) and the player thread (40 s); stop
    them all, in reverse, whatever the test does."""
    import socket
    import subprocess
    import sys
    import threading

    from cloud.broker import find_mosquitto, start_mosquitto
    from cloud.ingest import IngestSettings, IngestWorker
    from edge.link.mqtt import BrokerAddress
    from sim.generate import generate_session
    from sim.live.player import LivePlayer

    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    generate_session("one-shopper", 1, tmp_path / "session", cameras=cameras)
    broker = start_mosquitto(tmp_path / "mosquitto")
    engine = db.make_engine(f"sqlite:///{tmp_path / 'cloud.sqlite'}")
    worker = IngestWorker(engine, IngestSettings(broker=BrokerAddress(port=broker.port)))
    worker.start()
    player = LivePlayer(tmp_path / "session", tmp_path / "if")
    data = yaml.safe_load(player.config_path.read_text())
    if only_camera is not None:
        data["cameras"] = [c for c in data["cameras"] if c["id"] == only_camera]
    data["cloud"] = {
        "enabled": True,
        "mqtt": {"host": "127.0.0.1", "port": broker.port},
        "heartbeat_interval_s": 1.0,
    }
    store_id = data["store"]["id"]
    config = tmp_path / "if" / "store-cloud.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    configs = tmp_path / "stores"
    configs.mkdir()
    (configs / f"{store_id}.yaml").write_text(config.read_text())
    users = {"alice": User("alice", "admin", frozenset(), hash_password(PASSWORDS["alice"]))}
    settings = DashboardSettings(
        users=users, signer=SessionSigner(b"live-secret"), store_configs=configs
    )
    running = run_app(make_app(engine, settings), "127.0.0.1", 0)
    port = running.server.servers[0].sockets[0].getsockname()[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        health = int(s.getsockname()[1])
    log = (tmp_path / "edge.log").open("wb")
    edge = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("walkout")),
            *("edge", "run", "--config", str(config), *edge_args),
            *("--data-dir", str(tmp_path / "data"), "--health-port", str(health)),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    stop = threading.Event()
    thread = threading.Thread(target=lambda: player.play(stop=stop, until_s=40.0))
    t = Tab(browser, Site(f"http://127.0.0.1:{port}", engine, [0.0], settings))
    try:
        assert player.wait_for_client(60), (tmp_path / "edge.log").read_text()
        thread.start()
        yield LiveStore(player, t, store_id, health)
    finally:
        stop.set()
        if thread.is_alive():
            thread.join(10)
        edge.terminate()
        edge.wait(30)
        player.close()
        t.close()
        running.stop()
        worker.stop()
        broker.stop()
        engine.dispose()


@pytest.mark.slow
def test_frozen_plate_in_a_live_store_reaches_the_dashboard_and_readyz(
    tmp_path: Path, browser: object, pcscd: object
) -> None:
    """A simulated store plays live into pty ports and virtual cards; `walkout edge run` with its
    cloud link sends heartbeats (every 1 s) through a real mosquitto to a real ingest worker; the
    dashboard's store page in Chromium shows the plate frozen by the simulator as stuck within
    seconds of the edge flagging it, and the edge's /readyz turns 503 naming the plate."""
    import time

    target = "1.1.1"
    with live_store(tmp_path, browser, edge_args=("--no-cameras",)) as live:
        player, t, store_id, health = live.player, live.tab, live.store_id, live.health_port
        t.login("alice")
        t.go(f"/stores/{store_id}")
        plate = t.page.locator(f"svg [data-plate='{target}']")
        plate.wait_for(
            state="attached", timeout=20_000
        )  # the first heartbeat with a store state arrived
        time.sleep(5.0)  # readings flow, the detector learns how lively each channel is
        assert plate.get_attribute("data-state") == "ok"
        assert _readyz(health)[0] == 200, _readyz(health)
        injected = time.monotonic()
        player.inject_fault("freeze-plate", target)
        t.page.wait_for_selector(
            f"svg [data-plate='{target}'][data-state='stuck']", state="attached", timeout=20_000
        )
        shown_after = time.monotonic() - injected
        code, body = _readyz(health)
        t.page.screenshot(path=str(ARTIFACTS / "live-frozen-plate.png"), full_page=True)
        assert "plate 1.1.1: stuck" in t.page.locator("#reasons").inner_text()
    print(f"frozen plate on the dashboard {shown_after:.2f} s after the freeze")
    # The edge needs 5 s of identical readings; then 1 s heartbeats and 1.5 s page refreshes.
    assert shown_after <= 12.0
    assert code == 503 and f"plate {target}: stuck" in body["reasons"], body
    assert t.errors == [], t.errors


def test_detector_models_name_the_shipped_manifest() -> None:
    from edge.link.store_state import detector_models
    from edge.vision.detector import DEFAULT_MANIFEST
    from edge.vision.manifest import load_manifest

    manifest = load_manifest(DEFAULT_MANIFEST)
    (model,) = detector_models(manifest)
    assert model.model_name == "detector" and model.sha256 == manifest.sha256
    assert model.version == manifest.info["created_utc"]
    assert detector_models(None) == []  # no vision: no model reported


@pytest.mark.slow
def test_heartbeat_models_reach_the_store_page(tmp_path: Path, site: Site) -> None:
    """A real link sends heartbeats naming the detector in use through mosquitto to the ingest
    worker; the store page lists it with its version and sha256."""
    import time

    from cloud.broker import find_mosquitto, start_mosquitto
    from cloud.ingest import IngestSettings, IngestWorker
    from edge.journal.journal import Journal
    from edge.link.link import EdgeLink, LinkSettings
    from edge.link.mqtt import BrokerAddress
    from edge.link.store_state import detector_models
    from edge.vision.detector import DEFAULT_MANIFEST
    from edge.vision.manifest import load_manifest

    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    manifest = load_manifest(DEFAULT_MANIFEST)
    broker = start_mosquitto(tmp_path / "mosquitto")
    engine = db.make_engine(f"sqlite:///{tmp_path / 'cloud.sqlite'}")
    worker = IngestWorker(engine, IngestSettings(broker=BrokerAddress(port=broker.port)))
    Journal(tmp_path / "journal.sqlite").close()
    link = EdgeLink(
        tmp_path / "journal.sqlite",
        LinkSettings(
            store_id=STORE, broker=BrokerAddress(port=broker.port), heartbeat_interval_s=0.2
        ),
    )
    link.models_source = lambda: detector_models(manifest)
    settings = DashboardSettings(
        users=site.settings.users,
        signer=site.settings.signer,
        store_configs=site.settings.store_configs,
    )
    running = run_app(make_app(engine, settings), "127.0.0.1", 0)
    port = running.server.servers[0].sockets[0].getsockname()[1]
    cookie = settings.signer.issue("alice", time.time())
    worker.start()
    link.start()
    page = ""
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/stores/{STORE}/live",
                headers={"Cookie": f"walkout_session={cookie}"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                page = response.read().decode()
            if manifest.sha256[:12] in page:
                break
            time.sleep(0.3)
    finally:
        link.stop()
        worker.stop()
        broker.stop()
        running.stop()
        engine.dispose()
    assert f"<td>detector</td><td>{manifest.info['created_utc']}</td>" in page, page[-2000:]
    assert f"<td>{manifest.sha256[:12]}</td>" in page


@needs_chromium
@pytest.mark.slow
def test_stopped_camera_in_a_live_store_reaches_the_dashboard_and_readyz(
    tmp_path: Path, browser: object, pcscd: object
) -> None:
    """Like the frozen plate, with one camera: the simulator serves the small store's cam-1 as
    MJPEG (160x120 at 5 frames/s, the other camera left out to spare the 2 cores; person tracks
    come from the track socket, so no detector runs), `walkout edge run` reads it with its
    OpenCV driver; `stop-camera` hangs the stream (connection open, no frames) and the store page
    shows cam-1 faulted within seconds while /readyz answers 503 naming it."""
    import time

    from sim.render.video import CameraOptions

    camera = "cam-1"
    options = CameraOptions(fps=5.0, image_size=(160, 120), drop_rate=0.0, only=(camera,))
    row = f"#sensors tr[data-sensor='{camera}']"
    with live_store(tmp_path, browser, cameras=options, only_camera=camera) as live:
        player, t, store_id, health = live.player, live.tab, live.store_id, live.health_port
        assert player.cameras is not None and set(player.cameras.feeds) == {camera}
        t.login("alice")
        t.go(f"/stores/{store_id}")
        t.page.wait_for_selector(f"{row}[data-state='ok']", state="attached", timeout=20_000)
        deadline = time.monotonic() + 20
        while _readyz(health)[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.5)  # every sensor delivering
        assert _readyz(health)[0] == 200, _readyz(health)
        injected = time.monotonic()
        player.inject_fault("stop-camera", camera)
        t.page.wait_for_selector(f"{row}[data-state='faulted']", state="attached", timeout=20_000)
        shown_after = time.monotonic() - injected
        code, body = _readyz(health)
        t.page.screenshot(path=str(ARTIFACTS / "live-stopped-camera.png"), full_page=True)
        reasons = t.page.locator("#reasons").inner_text()
    print(f"stopped camera on the dashboard {shown_after:.2f} s after the stop")
    # The edge calls a camera silent after 2 s; then 1 s heartbeats and 1.5 s page refreshes.
    assert shown_after <= 10.0
    assert f"camera {camera}" in reasons
    assert code == 503 and any(f"camera {camera}" in r for r in body["reasons"]), body
    assert t.errors == [], t.errors
