"""The local journal (SQLite, WAL, synchronous=FULL): a receipt and its outbox row commit together.

A receipt is money: it is durable on disk, with the message that will carry it to the cloud, before
anything is published. The receipt id is the primary key, so settling a visit twice is impossible.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    receipt_id TEXT PRIMARY KEY,
    visit_id   TEXT NOT NULL UNIQUE,
    settled_t  REAL NOT NULL,
    total      TEXT NOT NULL,
    needs_review INTEGER NOT NULL,
    body       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    stream     TEXT NOT NULL,
    event_id   TEXT NOT NULL UNIQUE,
    created_t  REAL NOT NULL,
    payload    BLOB NOT NULL,
    sent       INTEGER NOT NULL DEFAULT 0
);
"""


class AlreadySettled(Exception):
    """The visit already has a receipt: settling twice would charge twice."""


class Journal:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def settle(
        self,
        receipt: dict[str, Any],
        *,
        stream: str,
        event_id: str,
        payload: bytes,
        publish: bool = True,
    ) -> None:
        """Write the receipt and its outbox row atomically; refuse a second receipt for a visit.

        A receipt held for review (`publish=False`) is journaled without an outbox row: it is
        published when a person resolves it.
        """
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO receipts (receipt_id, visit_id, settled_t, total, needs_review, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    receipt["receipt_id"],
                    receipt["visit_id"],
                    receipt["settled_t"],
                    receipt["total"],
                    int(receipt["needs_review"]),
                    json.dumps(receipt, sort_keys=True, separators=(",", ":")),
                ),
            )
            if publish:
                self.db.execute(
                    "INSERT INTO outbox (stream, event_id, created_t, payload) VALUES (?, ?, ?, ?)",
                    (stream, event_id, receipt["settled_t"], payload),
                )
            self.db.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            self.db.execute("ROLLBACK")
            raise AlreadySettled(receipt["visit_id"]) from exc

    def receipt_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM receipts").fetchone()[0])

    def outbox_backlog(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM outbox WHERE sent = 0").fetchone()[0])

    def close(self) -> None:
        self.db.close()
