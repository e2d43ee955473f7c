"""How a row of the breach queue reads on the page (`/ops`): the ticket's state by its label
in the workflow definition, as the dashboard shows it, and what is true of its clock in words
that cannot be misread.

The queue holds breached clocks and clocks at risk *within the hour*, so a row's clock may
not be at risk yet: "at risk in 2 min" read as if it were at risk already, or as if the
ticket were two minutes from breaching. A row therefore says how far the due time is
("due in 14 min", "overdue 5 min") and, apart, when the plan's threshold is (or was)
crossed: "at risk now" or "becomes at risk in 20 min". The CSV export keeps its own columns
(`workflow.breach_values`), which scripts may read.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.breach_values import ClockState, Entry, humanise
from workflow.loading import compiled_version
from workflow.models import Ticket, WorkflowVersion


def standing(c: ClockState) -> str:
    """`overdue 5 min` once the due time has passed, else `due in 14 min`."""
    if c.breached:
        return f"overdue {humanise(c.now - c.due_at)}"
    return f"due in {humanise(c.due_at - c.now)}"


def risk_note(c: ClockState) -> str:
    """`at risk now` (the plan's threshold is crossed) or `becomes at risk in 20 min`; empty
    once overdue, and for a plan without a threshold (at risk only when due, which
    `standing` says already)."""
    if c.breached or c.at_risk_at >= c.due_at > c.now:
        return ""
    if c.at_risk_at <= c.now:
        return "at risk now"
    return f"becomes at risk in {humanise(c.at_risk_at - c.now)}"


def state_labels(session: Session, entries: Iterable[Entry]) -> dict[int, str]:
    """Ticket id -> the label of its state in its own workflow version (one query for the
    whole page, whatever its size; definitions come from the per-process cache). A state
    the version does not know (never expected) shows as its id."""
    states = {e.ticket_id: e.state for e in entries}
    if not states:
        return {}
    rows = session.execute(
        select(Ticket.id, Ticket.workflow_version_id, WorkflowVersion.checksum)
        .join(WorkflowVersion, Ticket.workflow_version_id == WorkflowVersion.id)
        .where(Ticket.id.in_(states))
    )
    labels = {}
    for ticket_id, version_id, checksum in rows:
        defined = compiled_version(session, version_id, checksum).definition.states
        state = states[ticket_id]
        labels[ticket_id] = defined[state].label if state in defined else state
    return labels
