"""Opening the journal (edge/journal/journal.py): an older journal upgrades in place, and the core
and the link opening the same new file at the same moment both succeed (CI once saw the second
ALTER TABLE fail with "duplicate column name")."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from edge.journal.journal import OUTBOX_COLUMNS, Journal

OLD_OUTBOX = """
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    stream     TEXT NOT NULL,
    event_id   TEXT NOT NULL UNIQUE,
    created_t  REAL NOT NULL,
    payload    BLOB NOT NULL,
    sent       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO outbox (stream, event_id, created_t, payload) VALUES ('receipts', 'e-1', 1.0, x'00');
"""


def outbox_columns(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[1] for row in db.execute("PRAGMA table_info(outbox)")}


def test_an_older_journal_gains_the_link_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_OUTBOX)
    Journal(path).db.close()
    assert set(OUTBOX_COLUMNS) <= outbox_columns(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT event_id, sequence FROM outbox").fetchall() == [("e-1", None)]


def test_many_connections_opening_a_new_journal_at_once_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def open_it() -> None:
        start.wait()
        try:
            Journal(path).db.close()
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(OUTBOX_COLUMNS) <= outbox_columns(path)
