"""`/ops`: the SLA breach queue, refreshed live, and its CSV export (`/ops/breaches.csv`)."""

from __future__ import annotations

import csv
import io

from flask import Response

from web import clock, htmx
from web.extensions import db
from web.ops import breach_words
from web.ops.common import ops_required
from workflow import breaches
from workflow.breach_values import BreachQueue

EXPORT_CAP = 10_000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "team",
    "plan",
    "ticket",
    "subject",
    "state",
    "priority",
    "assignee",
    "clock",
    "status",
    "due_at_utc",
    "at_risk_at_utc",
    "minutes_past_due",
    "other_clocks",
)


@ops_required
def page() -> Response:
    """The breach queue, its rows worded by web/ops/breach_words.py. HTMX (a live update,
    the clock-driven refresh or the polling fallback) gets the queue block alone, swapped
    into #breach-queue."""
    queue = breaches.breach_queue(db.session, clock.now())
    return htmx.page_or_blocks(
        "ops/breaches.html",
        {"breach-queue": "breach_queue"},
        queue=queue,
        states=breach_words.state_labels(db.session, queue.entries),
        standing=breach_words.standing,
        risk_note=breach_words.risk_note,
    )


@ops_required
def export() -> Response:
    """The breach queue as CSV, most urgent first (UTF-8 with a byte-order mark, so
    spreadsheets read accents right)."""
    at = clock.now()
    queue = breaches.breach_queue(db.session, at, cap=EXPORT_CAP)
    name = f"breach-queue-{at:%Y%m%d-%H%M}.csv"
    return Response(
        "\ufeff" + to_csv(queue),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def defuse(text: str | None) -> str:
    """A text cell a spreadsheet will not run as a formula: one starting with = + - @ (or
    a tab or carriage return) gets a leading apostrophe."""
    text = text or ""
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(queue: BreachQueue) -> str:
    """One row per ticket under its most urgent clock; times in UTC (ISO 8601)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for e in queue.entries:
        clock = e.clock
        writer.writerow(
            [
                defuse(e.team or "No team"),
                defuse(e.plan),
                e.number,
                defuse(e.subject),
                defuse(e.state),
                defuse(e.priority),
                defuse(e.assignee or ""),
                clock.clock,
                defuse(clock.status),
                clock.due_at.isoformat(timespec="seconds"),
                "" if clock.breached else clock.at_risk_at.isoformat(timespec="seconds"),
                clock.minutes_past_due,
                " ".join(f"{o.clock}:{'breached' if o.breached else 'at_risk'}" for o in e.others),
            ]
        )
    return out.getvalue()
