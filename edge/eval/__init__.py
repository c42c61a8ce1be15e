"""Scoring of replay runs against ground truth: `walkout eval SESSION RUN_DIR`.

`evaluate` reads a session and a run directory and returns the JSON-ready result of
`edge.eval.scoring.score_run`; `combine` adds results of several sessions. Rules: docs/scoring.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge.eval.run_reader import RunData, RunError, read_run
from edge.eval.scoring import StoreFacts, combine, score_run, store_facts

__all__ = [
    "RunData",
    "RunError",
    "StoreFacts",
    "combine",
    "evaluate",
    "read_run",
    "score_run",
    "store_facts",
]


def evaluate(session_dir: str | Path, run_dir: str | Path) -> dict[str, Any]:
    """Score the run in `run_dir` against the ground truth of the session in `session_dir`.

    Raises SessionError (including its subclass RunError) naming the file at fault: a session
    without ground truth, a missing or malformed run file, or a run replayed from another session.
    """
    from edge.config.layout import StoreLayout
    from edge.session.errors import SessionError
    from edge.session.reader import Session

    session = Session.open(session_dir)
    truth = session.truth()
    if truth is None:
        raise SessionError(
            session.path,
            "has no ground truth (truth/truth.json): there is nothing to score the run against",
        )
    run = read_run(run_dir)
    session_id = session.manifest.session_id
    if run.session_id is not None and run.session_id != session_id:
        raise RunError(
            Path(run_dir) / "run.json",
            f"the run was replayed from session {run.session_id!r}, not {session_id!r}",
        )
    facts = store_facts(StoreLayout(session.config))
    return score_run(
        truth,
        run,
        facts=facts,
        positions=session.iter_true_positions(),
        session_id=session_id,
    )
