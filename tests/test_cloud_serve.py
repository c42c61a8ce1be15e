"""`walkout cloud serve` as a process: two worker processes ingest a store's backlog and stop
cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.services import broker, needs_mosquitto  # noqa: F401 (fixture)
from support.traffic import fill_journal
from test_link import STORE, backlog, link_settings, stored_ids, wait_for

from cloud import db
from edge.link.link import EdgeLink

pytestmark = [needs_mosquitto, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[1]


def test_serve_with_two_workers_stores_and_acks(tmp_path, broker):  # type: ignore[no-untyped-def]  # noqa: F811
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
            "--workers",
            "2",
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    # Both workers on the shared subscription before anything is sent: on a loaded machine the
    # second process can still be starting when the first has drained the whole outbox.
    wait_for(
        lambda: (tmp_path / "serve.log").read_text().count("subscribed") >= 2,
        60,
        "both ingest workers to subscribe",
    )
    journal = tmp_path / "journal.sqlite"
    ids = fill_journal(journal, STORE, 500)
    link = EdgeLink(journal, link_settings(broker.port))
    link.start()
    try:
        wait_for(lambda: backlog(journal) == 0, 60, "the outbox to drain through the service")
    finally:
        link.stop()
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(30)
    output = (tmp_path / "serve.log").read_text()
    assert code == 0, output
    engine = db.make_engine(url)
    assert sorted(stored_ids(engine)) == sorted(ids)
    # Both processes took part: each logs its counters when it stops.
    assert output.count("stopped: received=") == 2, output
    engine.dispose()
