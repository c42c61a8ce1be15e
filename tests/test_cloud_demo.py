"""The cloud half of `walkout demo`: a replayed run's receipts arrive in the cloud database."""

from __future__ import annotations

import json

from support.services import needs_mosquitto

from cloud.demo import run_with_cloud
from edge.replay.runner import replay_session
from sim.generate import generate_session


@needs_mosquitto
def test_replayed_receipts_arrive_in_the_cloud(tmp_path):  # type: ignore[no-untyped-def]
    session = tmp_path / "session"
    generate_session("one-shopper", 11, session)
    run = tmp_path / "run"
    replayed = replay_session(session, run)
    result = run_with_cloud(run, timeout_s=30)
    assert not result.skipped
    assert result.backlog_left == 0
    assert result.outbox_events == result.stored_receipts == replayed.receipts >= 1
    visits = [json.loads(line)["visit_id"] for line in (run / "receipts.jsonl").open()]
    assert [r[0] for r in result.receipts] == visits
