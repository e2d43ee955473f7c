"""The one query behind SLA compliance (workflow/compliance.py): the rules of that module's
docstring become SELECTs here (met and breached first responses and resolutions read from
the tickets, the breaches the timers recorded, the next-response outcomes replies recorded,
a next-response clock running past due), and their UNION ALL is counted per plan, team,
clock, outcome and local day in the database: one round trip however many tickets there
are. Every part reads only rows from `since` (the start of the first day counted) on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, exists, func, literal, select, type_coerce, union_all

from workflow.escalation import BREACH
from workflow.models import SlaOutcome, SlaPlan, SlaStep, Team, Ticket, UtcDateTime

MET, BREACHED = "met", "breached"


def query(now: datetime, starts: Sequence[datetime]) -> Any:
    """Outcomes per plan, team, clock, outcome and day (index into `starts`; -1 before):
    one row per group, named (plan, team) only after counting."""
    since = starts[0]
    at_now = literal(now, UtcDateTime())
    outcomes = union_all(
        _recorded_breaches(since),
        *_next_response_recorded(since),
        *_first_response(since, at_now),
        *_resolution(since, at_now),
        _next_response_running(since, now),
    ).subquery("outcomes")
    day = case(
        *((outcomes.c.at >= start, i) for i, start in reversed(list(enumerate(starts[:-1])))),
        else_=-1,
    ).label("day")
    counted = (
        select(
            outcomes.c.plan_id,
            outcomes.c.team_id,
            outcomes.c.clock,
            outcomes.c.outcome,
            day,
            func.count().label("n"),
        )
        .group_by(outcomes.c.plan_id, outcomes.c.team_id, outcomes.c.clock, outcomes.c.outcome, day)
        .subquery("counted")
    )
    return (  # names joined to the few counted rows, not to every outcome
        select(
            counted.c.plan_id,
            SlaPlan.name,
            counted.c.team_id,
            Team.name,
            counted.c.clock,
            counted.c.outcome,
            counted.c.day,
            counted.c.n,
        )
        .outerjoin(SlaPlan, SlaPlan.id == counted.c.plan_id)
        .outerjoin(Team, Team.id == counted.c.team_id)
    )


def _outcome(clock: Any, outcome: str, at: Any) -> list[Any]:
    return [
        Ticket.sla_plan_id.label("plan_id"),
        Ticket.team_id.label("team_id"),
        type_coerce(clock, String(20)).label("clock"),
        literal(outcome, String(10)).label("outcome"),
        type_coerce(at, UtcDateTime()).label("at"),
    ]


def _unrecorded(clock: str, due: Any) -> Any:
    """No `breach` row records this clock's breach of this due time yet."""
    return ~exists().where(
        SlaStep.ticket_id == Ticket.id,
        SlaStep.clock == clock,
        SlaStep.step == BREACH,
        SlaStep.due_at == due,
    )


def _recorded_breaches(since: datetime) -> Any:
    """Every clock's breaches the timers recorded, for the plan and team of their time,
    except a next-response run whose end is recorded (`_next_response_recorded` counts it).
    `done_at >= since` only lets the index on done_at find them: a step is done at or
    after its due time."""
    ended = exists().where(
        SlaOutcome.ticket_id == SlaStep.ticket_id,
        SlaOutcome.clock == SlaStep.clock,
        SlaOutcome.cycle == SlaStep.cycle,
    )
    return select(
        SlaStep.plan_id.label("plan_id"),
        SlaStep.team_id.label("team_id"),
        type_coerce(SlaStep.clock, String(20)).label("clock"),
        literal(BREACHED, String(10)).label("outcome"),
        type_coerce(SlaStep.due_at, UtcDateTime()).label("at"),
    ).where(
        SlaStep.step == BREACH,
        SlaStep.done_at >= since,
        SlaStep.due_at >= since,
        ~and_(SlaStep.clock == "next_response", ended),
    )


def _next_response_recorded(since: datetime) -> list[Any]:
    """Next-response runs a reply ended: met on the day of the reply, breached on the day
    of the due time (found through the index on `ended_at`: a breach ends after its due)."""

    def counted(outcome: str, at: Any) -> Any:
        return select(
            SlaOutcome.plan_id.label("plan_id"),
            SlaOutcome.team_id.label("team_id"),
            type_coerce(SlaOutcome.clock, String(20)).label("clock"),
            literal(outcome, String(10)).label("outcome"),
            type_coerce(at, UtcDateTime()).label("at"),
        ).where(SlaOutcome.outcome == outcome, SlaOutcome.ended_at >= since, at >= since)

    return [counted(MET, SlaOutcome.ended_at), counted(BREACHED, SlaOutcome.due_at)]


def _first_response(since: datetime, now: Any) -> list[Any]:
    due = Ticket.first_response_due_at
    replied = Ticket.first_responded_at
    end = func.coalesce(Ticket.first_response_paused_at, replied, now)
    clock = literal("first_response", String(20))
    met = select(*_outcome(clock, MET, replied)).where(
        replied >= since, due.is_not(None), end <= due
    )
    breached = select(*_outcome(clock, BREACHED, due)).where(
        due >= since, due < end, _unrecorded("first_response", due)
    )
    return [met, breached]


def _resolution(since: datetime, now: Any) -> list[Any]:
    """Resolved and not reopened since: paused, and paused no later than the resolution
    (paused by it, or while waiting on the customer before it)."""
    due = Ticket.resolution_due_at
    paused = Ticket.resolution_paused_at
    resolved = and_(
        Ticket.resolved_at.is_not(None), paused.is_not(None), paused <= Ticket.resolved_at
    )
    end = func.coalesce(paused, Ticket.closed_at, now)
    clock = literal("resolution", String(20))
    met = select(*_outcome(clock, MET, Ticket.resolved_at)).where(
        Ticket.resolved_at >= since, resolved, due.is_not(None), paused <= due
    )
    breached = select(*_outcome(clock, BREACHED, due)).where(
        due >= since, due < end, _unrecorded("resolution", due)
    )
    return [met, breached]


def _next_response_running(since: datetime, now: datetime) -> Any:
    """A next-response clock running past its due time whose breach is not recorded yet
    (found through the index on `next_due_at`, the nearest running deadline)."""
    due = Ticket.next_response_due_at
    clock = literal("next_response", String(20))
    return select(*_outcome(clock, BREACHED, due)).where(
        Ticket.closed_at.is_(None),
        Ticket.next_due_at < now,
        due >= since,
        due < now,
        Ticket.next_response_paused_at.is_(None),
        _unrecorded("next_response", due),
    )
