"""Pruning acknowledged outbox rows (edge/journal/journal.py): old sent rows go, unsent rows and
each stream's newest row stay, and sequences never restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from support.traffic import receipt_payload

from edge.journal.journal import PRUNE_EVERY_S, Journal

STORE = "store-1"


def append(journal: Journal, stream: str, n: int) -> int:
    _, payload = receipt_payload(STORE, f"{stream}-visit-{n}", exit_unix=1_700_000_000.0)
    return journal.append(
        stream=stream, event_id=f"{stream}-{n}", created_t=float(n), payload=payload
    )


def rows(path: Path) -> list[tuple[str, int, int]]:
    with sqlite3.connect(path) as db:
        return [
            (r[0], int(r[1]), int(r[2]))
            for r in db.execute("SELECT stream, sequence, sent FROM outbox ORDER BY seq")
        ]


def test_prune_keeps_unsent_rows_and_each_streams_newest(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, sent_retention_s=None)  # pruned by hand here
    for n in range(1, 6):
        append(journal, "receipts", n)
    for n in range(1, 3):
        append(journal, "visits", n)
    journal.mark_acked({"receipts": 4, "visits": 2}, acked_unix=1000.0)
    assert journal.prune_sent(older_than_unix=999.0) == 0  # acked after the cutoff: kept
    assert journal.prune_sent(older_than_unix=2000.0) == 5  # receipts 1-4, visits 1
    assert rows(path) == [("receipts", 5, 0), ("visits", 2, 1)]
    assert journal.outbox_backlog() == 1
    journal.mark_acked({"receipts": 5}, acked_unix=1500.0)
    assert journal.prune_sent(older_than_unix=2000.0) == 0  # each stream's newest row stays
    assert rows(path) == [("receipts", 5, 1), ("visits", 2, 1)]
    journal.close()
    # After a restart the streams continue: no sequence is ever reused.
    journal = Journal(path, sent_retention_s=None)
    assert append(journal, "receipts", 6) == 6 and append(journal, "visits", 3) == 3
    journal.close()


def test_retention_prunes_on_acknowledgement_at_most_hourly(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, sent_retention_s=86400.0)
    for n in range(1, 4):
        append(journal, "receipts", n)
    t0 = 1_700_000_000.0
    journal.mark_acked({"receipts": 2}, acked_unix=t0)  # first prune pass: nothing old yet
    assert [r[1] for r in rows(path)] == [1, 2, 3]
    # A day and a bit later, within the hour of the last pass: no pass yet.
    journal._last_prune_unix = t0 + 86400.0 + 100.0 - PRUNE_EVERY_S / 2
    journal.mark_acked({"receipts": 3}, acked_unix=t0 + 86400.0 + 100.0)
    assert [r[1] for r in rows(path)] == [1, 2, 3]
    journal.mark_acked({}, acked_unix=t0 + 86400.0 + 100.0 + PRUNE_EVERY_S)
    assert [r[1] for r in rows(path)] == [3]  # 1 and 2 were acked over a day ago
    journal.close()
