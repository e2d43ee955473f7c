"""The tickets a publish re-clocks: found set-based, then moved one by one with their timers.

Most live tickets keep their SLA behaviour when the workflow gets a new version, and
workflow/publishing.py moves them with one UPDATE. The others (mapped to another state, or
sitting in a state that runs, pauses or stops a clock differently in the new version) are
moved here, one by one through the services' write path (workflow/ticket_record.py): the
move and the recomputed clocks are one UPDATE, so each ticket's version goes up by exactly
one, like any other write. Each such ticket yields its timers as they now stand (schedule
each running clock's first step, cancel the steps of the others: a job with the same id
moves, see jobs/queues.py) and a live update when its state or clocks changed, for the
caller to dispatch after its commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from workflow import clocks, plan_terms
from workflow.followups import FollowUp, LiveUpdate
from workflow.loading import compiled_version
from workflow.models import Ticket, WorkflowVersion
from workflow.plan_terms import Terms
from workflow.ticket_record import COLUMNS, TICKETS, TicketChange, TicketRecord

if TYPE_CHECKING:
    from workflow.definition import Definition

BATCH = 500
_QUIET = {"workflow_version_id", "updated_at", "timer_due_at"}
"""Columns whose change alone is no news to a page showing the ticket."""

_BY_IDS = select(TICKETS).where(TICKETS.c.id.in_(bindparam("ids", expanding=True)))


def tickets_whose_clocks_change(
    session: Session, live: Select, new: Definition, mapping: Mapping[str, str]
) -> list[int]:
    """Live tickets whose SLA behaviour differs after the move (mapped to another state, or
    their state runs, pauses or stops clocks differently in the new version). Only these
    need their clocks recomputed, one by one; everything else moves set-based."""
    pairs = session.execute(
        select(Ticket.workflow_version_id, Ticket.state, WorkflowVersion.checksum)
        .join(WorkflowVersion, Ticket.workflow_version_id == WorkflowVersion.id)
        .where(Ticket.id.in_(live))
        .distinct()
    ).all()
    changed = []
    for version_id, state, digest in pairs:
        old = compiled_version(session, version_id, digest).definition
        target = mapping.get(state, state)
        if target != state or old.states[state].sla != new.states[target].sla:
            changed.append((version_id, state))
    if not changed:
        return []
    return list(
        session.scalars(
            select(Ticket.id).where(
                Ticket.id.in_(live), tuple_(Ticket.workflow_version_id, Ticket.state).in_(changed)
            )
        )
    )


def move(
    session: Session,
    ticket_ids: Sequence[int],
    version_id: int,
    definition: Definition,
    mapping: Mapping[str, str],
    now: datetime,
) -> list[FollowUp]:
    """Move each ticket onto the version (state mapped, closed if mapped into a final state),
    recompute its clocks and save it (version + 1; `updated_at`, the ticket's last activity,
    stays: see workflow/publishing.py); returns the timers and live updates.
    Runs inside the caller's transaction, which already logged the moves; a ticket another
    writer changed between this read and its write raises StaleTicket, and the caller's
    rollback undoes the whole publish."""
    finals = {s.id for s in definition.states.values() if s.final}
    terms: dict[int | None, Terms] = {}
    out: list[FollowUp] = []
    for start in range(0, len(ticket_ids), BATCH):
        chunk = list(ticket_ids[start : start + BATCH])
        for row in session.execute(_BY_IDS, {"ids": chunk}):
            record = TicketRecord(dict(zip(COLUMNS, row, strict=True)))
            plan = record.sla_plan_id
            if plan not in terms:
                terms[plan] = plan_terms.load(session, plan)
            record.workflow_version_id = version_id
            record.state = mapping.get(record.state, record.state)
            if record.state in finals and record.closed_at is None:
                record.closed_at = now
            clocks.recompute(record, definition, now, terms[plan])
            out += clocks.timers(record, definition, terms[plan], now)
            news = set(record.changes()) - _QUIET
            TicketChange(record).save(session)
            if news:
                out.append(LiveUpdate(record.id, record.number, record.version))
    return out
