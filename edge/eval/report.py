"""Render a scoring result (edge.eval.scoring) as rich tables for `walkout eval`.

The bucket table puts Walkout's F1 next to the public AutoCheckout anchors and the project's
target, so a reader sees at a glance where a run stands; the other tables carry the figures the
design brief sets targets for (review rate, false charges, latency).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from edge.eval.scoring import ANCHORS, BUCKETS

__all__ = ["render_result"]

TARGET_F1 = 0.99
TARGET_REVIEW_RATE = 0.02
TARGET_LATENCY_S = {"cart_line": 0.5, "receipt": 1.0}


def _f(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f} %"


def _bucket_table(result: dict[str, Any]) -> Table:
    table = Table(title="Receipt lines by shoppers at one shelf (product and shopper right)")
    for name, justify in (
        ("shoppers", "left"),
        ("visits", "right"),
        ("TP", "right"),
        ("FP", "right"),
        ("FN", "right"),
        ("precision", "right"),
        ("recall", "right"),
        ("F1", "right"),
        ("AutoCheckout 2020", "right"),
        ("target", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for name in BUCKETS:
        b = result["buckets"][name]
        f1 = _f(b["f1"]) if b["visits"] else "—"
        if b["visits"]:
            f1 = f"[{'green' if b['f1'] >= TARGET_F1 else 'red'}]{f1}[/]"
        table.add_row(
            name,
            str(b["visits"]),
            str(b["tp"]),
            str(b["fp"]),
            str(b["fn"]),
            _f(b["precision"]) if b["visits"] else "—",
            _f(b["recall"]) if b["visits"] else "—",
            f1,
            _f(ANCHORS[name], 2),
            _f(TARGET_F1, 2),
        )
    o = result["overall"]
    extra = result["unmatched_receipt_units"]
    table.add_row(
        "all" + (f" (+{extra} units on unmatched receipts)" if extra else ""),
        str(o["visits"]),
        str(o["tp"]),
        str(o["fp"]),
        str(o["fn"]),
        _f(o["precision"]),
        _f(o["recall"]),
        _f(o["f1"]),
        "",
        _f(TARGET_F1, 2),
        style="bold",
    )
    return table


def _summary_table(result: dict[str, Any]) -> Table:
    table = Table(title="Visits and receipts", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target / note")
    visits = result["visits"]
    table.add_row("paying visits (truth)", str(visits), "")
    table.add_row("run receipts", str(result["receipts"]), "")
    table.add_row("missing receipts", str(result["missing_receipts"]), "visits with no receipt")
    table.add_row("unmatched receipts", str(result["unmatched_receipts"]), "no such visit")
    table.add_row("mean per-visit F1", _f(result["mean_visit_f1"]), f">= {TARGET_F1}")
    per_1000 = result["false_charges_per_1000_visits"]
    table.add_row(
        "false charges (units)",
        str(result["false_charges"]),
        "per 1,000 visits: " + _f(per_1000, 1) + "; 0 on noise-only data",
    )
    table.add_row(
        "sent to review",
        f"{result['reviewed']} ({_pct(result['review_rate'])})",
        f"< {TARGET_REVIEW_RATE:.0%} of visits",
    )
    return table


def _shelf_table(result: dict[str, Any]) -> Table:
    se = result["shelf_events"]
    table = Table(title="Shelf events and association", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("note")
    table.add_row(
        "events / true picks+puts", f"{se['events']} / {se['actions']}", "matched on shelf + time"
    )
    table.add_row("precision", _f(se["precision"]), f"{se['matched_events']} events matched")
    table.add_row("recall", _f(se["recall"]), f"{se['matched_actions']} actions matched")
    table.add_row(
        "merged events", str(se["merged"]), f"{se['merged_actions']} simultaneous actions in them"
    )
    wg, wr = se["weight_error_g"], se["weight_error_rel"]
    table.add_row(
        "weight error median / p95",
        f"{_f(wg['median'], 1)} / {_f(wg['p95'], 1)} g",
        f"{_pct(wr['median'])} / {_pct(wr['p95'])} of expected; n = {wg['n']}",
    )
    table.add_row(
        "association accuracy",
        _f(result["association_accuracy"]),
        f"{result['association']['correct']} of {result['association']['actions']} matched "
        "actions went to the right visit and product",
    )
    return table


def _latency_table(result: dict[str, Any]) -> Table:
    table = Table(title="Latency, seconds")
    for name in ("", "n", "median", "p95", "p99", "max", "target"):
        table.add_column(name, justify="left" if not name else "right")
    labels = {"cart_line": "cart line after shelf settled", "receipt": "receipt after exit"}
    for key, label in labels.items():
        s = result["latency_s"][key]
        target = TARGET_LATENCY_S[key]
        p99 = s["p99"]
        colour = "" if p99 is None else ("green" if p99 <= target else "red")
        table.add_row(
            label,
            str(s["n"]),
            _f(s["median"]),
            _f(s["p95"]),
            f"[{colour}]{_f(p99)}[/]" if colour else _f(p99),
            _f(s["max"]),
            f"<= {target}",
        )
    return table


def render_result(result: dict[str, Any], console: Console | None = None) -> None:
    """Print the tables of a scoring result."""
    console = console or Console()
    sessions = result.get("sessions") or []
    if sessions:
        console.print(f"[bold]walkout eval[/]: {', '.join(sessions)}")
    console.print(_bucket_table(result))
    console.print(_summary_table(result))
    console.print(_shelf_table(result))
    console.print(_latency_table(result))
