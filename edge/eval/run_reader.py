"""Read a replay run directory (docs/run-format.md) into plain data for scoring.

Only what scoring needs is kept: receipts (who was charged what, when, flagged or not), shelf
events (where and when weight changed) and cart-line events (which visit got which product from
which shelf event). Every problem names the file and, for JSON-lines files, the line, so a user can
go straight to it; unknown event types and unknown keys are ignored (a newer pipeline may add them).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.session.errors import SessionError
from edge.session.reader import load_json_row

__all__ = [
    "RunCartLine",
    "RunData",
    "RunError",
    "RunReceipt",
    "RunShelfEvent",
    "parse_events",
    "parse_receipts",
    "read_run",
]

RECEIPTS = "receipts.jsonl"
EVENTS = "events.jsonl"
RUN_INFO = "run.json"


class RunError(SessionError):
    """A run directory, or one of its files, is missing or malformed.

    A SessionError subclass so that `walkout`'s error handling (`user_errors`) prints it as one
    clean line naming the file and line, like every other recorded-data problem.
    """

    prefix = "run"


@dataclass(frozen=True, slots=True)
class RunReceipt:
    """One settled receipt: ``lines`` maps product id to units (duplicate lines summed)."""

    visit_id: str
    card_uid: str | None
    settled_t: float
    lines: dict[str, int]
    needs_review: bool
    receipt_id: str | None = None
    entry_t: float | None = None
    exit_t: float | None = None


@dataclass(frozen=True, slots=True)
class RunShelfEvent:
    """One detected shelf event: a weight change on one shelf between ``t_start`` and ``t_end``."""

    event_id: str
    t_start: float
    t_end: float
    gondola: int
    shelf: int
    delta_grams: float
    t: float
    plates: tuple[int, ...] = ()  # plate numbers on the shelf; () when the run did not say


@dataclass(frozen=True, slots=True)
class RunCartLine:
    """A cart line added (``added`` true) or removed, emitted at ``t`` for ``visit_id``."""

    t: float
    visit_id: str
    product_id: str
    quantity: int
    shelf_event_id: str | None
    added: bool


@dataclass(frozen=True, slots=True)
class RunData:
    """The parts of a run that scoring reads; ``session_id`` comes from run.json when present."""

    receipts: tuple[RunReceipt, ...] = ()
    shelf_events: tuple[RunShelfEvent, ...] = ()
    cart_lines: tuple[RunCartLine, ...] = ()
    session_id: str | None = None


# --- field checks -----------------------------------------------------------------------------


class _Row:
    """Typed access to one JSON object, raising RunError with file, line and key on a problem."""

    def __init__(self, path: Path, line: int, obj: Any, where: str = "") -> None:
        if not isinstance(obj, dict):
            raise RunError(path, f"{where or 'a row'} must be a JSON object", line=line)
        self.path, self.line, self.obj, self.where = path, line, obj, where

    def fail(self, key: str, problem: str) -> RunError:
        name = f"{self.where}.{key}" if self.where else key
        return RunError(self.path, f"key {name!r} {problem}", line=self.line)

    def raw(self, key: str, *, optional: bool = False) -> Any:
        if key not in self.obj:
            if optional:
                return None
            raise self.fail(key, "is missing")
        return self.obj[key]

    def str_(self, key: str, *, null: bool = False, optional: bool = False) -> str | None:
        value = self.raw(key, optional=optional)
        if value is None and (null or optional):
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {json.dumps(value)}")
        return value

    def num(self, key: str, *, null: bool = False, optional: bool = False) -> float | None:
        value = self.raw(key, optional=optional)
        if value is None and (null or optional):
            return None
        # bool is an int subclass; a true/false where a time belongs is a bug, not a number.
        if type(value) not in (int, float) or not math.isfinite(value):
            raise self.fail(key, f"must be a finite number, got {json.dumps(value)}")
        return float(value)

    def int_(self, key: str, *, minimum: int | None = None) -> int:
        value = self.raw(key)
        if type(value) is not int:
            raise self.fail(key, f"must be an integer, got {json.dumps(value)}")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"must be at least {minimum}, got {value}")
        return value

    def bool_(self, key: str) -> bool:
        value = self.raw(key)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {json.dumps(value)}")
        return value

    def list_(self, key: str) -> list[Any]:
        value = self.raw(key)
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list, got {json.dumps(value)}")
        return value


def _rows(path: Path, lines: Iterator[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            raise RunError(path, "empty line", line=lineno)
        yield lineno, load_json_row(path, lineno, line, RunError)


# --- parsers (text in, data out: usable on in-memory text in tests) ---------------------------


def parse_receipts(path: Path, lines: Iterator[str]) -> list[RunReceipt]:
    """Parse receipts.jsonl rows; ``path`` is only used to name the file in errors."""
    receipts: list[RunReceipt] = []
    for lineno, obj in _rows(path, lines):
        row = _Row(path, lineno, obj)
        quantities: dict[str, int] = {}
        for i, raw_line in enumerate(row.list_("lines")):
            line = _Row(path, lineno, raw_line, f"lines.{i}")
            product = line.str_("product_id")
            assert product is not None
            quantities[product] = quantities.get(product, 0) + line.int_("quantity", minimum=1)
        settled_t = row.num("settled_t")
        assert settled_t is not None
        visit_id = row.str_("visit_id")
        assert visit_id is not None
        receipts.append(
            RunReceipt(
                visit_id=visit_id,
                card_uid=row.str_("card_uid", null=True),
                settled_t=settled_t,
                lines=quantities,
                needs_review=row.bool_("needs_review"),
                receipt_id=row.str_("receipt_id", optional=True),
                entry_t=row.num("entry_t", optional=True),
                exit_t=row.num("exit_t", optional=True),
            )
        )
    return receipts


def parse_events(path: Path, lines: Iterator[str]) -> tuple[list[RunShelfEvent], list[RunCartLine]]:
    """Parse events.jsonl rows, keeping shelf events and cart-line events."""
    shelf_events: list[RunShelfEvent] = []
    cart_lines: list[RunCartLine] = []
    for lineno, obj in _rows(path, lines):
        row = _Row(path, lineno, obj)
        kind = row.str_("type")
        t = row.num("t")
        assert t is not None
        if kind == "shelf_event":
            t_start, t_end = row.num("t_start"), row.num("t_end")
            delta = row.num("delta_grams")
            event_id = row.str_("event_id")
            assert t_start is not None and t_end is not None and delta is not None
            assert event_id is not None
            if t_end < t_start:
                raise row.fail("t_end", f"({t_end}) is before t_start ({t_start})")
            shelf_events.append(
                RunShelfEvent(
                    event_id=event_id,
                    t_start=t_start,
                    t_end=t_end,
                    gondola=row.int_("gondola", minimum=1),
                    shelf=row.int_("shelf", minimum=1),
                    delta_grams=delta,
                    t=t,
                    plates=_plate_numbers(row),
                )
            )
        elif kind in ("cart_line_added", "cart_line_removed"):
            visit_id, product = row.str_("visit_id"), row.str_("product_id")
            assert visit_id is not None and product is not None
            cart_lines.append(
                RunCartLine(
                    t=t,
                    visit_id=visit_id,
                    product_id=product,
                    quantity=row.int_("quantity", minimum=1),
                    shelf_event_id=row.str_("shelf_event_id", null=True, optional=True),
                    added=kind == "cart_line_added",
                )
            )
    return shelf_events, cart_lines


def _plate_numbers(row: _Row) -> tuple[int, ...]:
    plates = row.raw("plates", optional=True)
    if plates is None:
        return ()
    if not isinstance(plates, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) for p in plates
    ):
        raise row.fail("plates", f"must be a list of plate numbers (value: {plates!r})")
    return tuple(plates)


# --- files ------------------------------------------------------------------------------------


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise RunError(path, "missing (a run directory holds receipts.jsonl and events.jsonl)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(path, f"cannot read: {exc}") from None
    lines = text.split("\n")
    if lines[-1] != "":
        # The writer ends every row with a newline; a last row without one was cut off mid-write.
        raise RunError(path, "truncated last line (no newline at the end)", line=len(lines))
    return lines[:-1]


def read_run(run_dir: str | Path) -> RunData:
    """Read receipts.jsonl, events.jsonl and (if present) run.json of a run directory."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(run_dir, "not a run directory (it does not exist or is not a folder)")
    receipts_path = run_dir / RECEIPTS
    events_path = run_dir / EVENTS
    receipts = parse_receipts(receipts_path, iter(_read_lines(receipts_path)))
    shelf_events, cart_lines = parse_events(events_path, iter(_read_lines(events_path)))
    session_id = None
    info_path = run_dir / RUN_INFO
    if info_path.exists():
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise RunError(info_path, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RunError(info_path, f"cannot read: {exc}") from None
        if not isinstance(info, dict):
            raise RunError(info_path, "must be a JSON object")
        session_id = info.get("session_id")
        if session_id is not None and not isinstance(session_id, str):
            raise RunError(info_path, f"key 'session_id' must be a string, got {session_id!r}")
    return RunData(tuple(receipts), tuple(shelf_events), tuple(cart_lines), session_id)
