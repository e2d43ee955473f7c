"""The recorded end of a next-response run: met or breached, where it happened.

The next-response clock starts at each customer message and stops at the next public reply,
which clears its columns on the ticket; without a record, compliance could count its
breaches (the `breach` step in sla_steps) but never a met run. So when a reply stops a
running (or paused) next-response clock, the service (workflow/services.py) builds a
`ClockStopped` here from the ticket as it was read and records it with `record` in its own
transaction, once per ticket, clock and run: the outcome commits with the reply or not at
all, and never depends on Redis being up after the commit.

The rule at the boundary: a reply at the due second is **met**. The deadline is the earliest
instant at which the target is reached (workflow/sla.py), so a reply at that instant took
exactly the target, not more; a breach is a run that went past its due time (`due < end`),
as workflow/compliance.py counts the other clocks. The run ends at the reply, or at the
pause it was in when the reply came (paused time does not count).

Attribution: the plan, team and department of the moment the run ended; for a late reply
whose breach the timers already recorded, those of the breach step (the breach happened
under them, before any reassignment the escalation made).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.escalation import BREACH
from workflow.insert_once import insert_once
from workflow.models import SlaOutcome, SlaStep

NEXT_RESPONSE = "next_response"
MET, BREACHED = "met", "breached"


@dataclass(frozen=True)
class ClockStopped:
    """A run of a clock ended (the next response, at a public reply), with the plan, team
    and department of that moment: what `record` writes."""

    ticket_id: int
    clock: str
    cycle: int
    due_at: datetime
    ended_at: datetime
    plan_id: int | None
    team_id: int | None
    department_id: int | None


def outcome_of(due_at: datetime, ended_at: datetime) -> str:
    """Met when the run ended at or before its due time (the due second itself is met)."""
    return MET if ended_at <= due_at else BREACHED


def next_response_stopped(ticket: Any, now: datetime) -> ClockStopped | None:
    """The next-response run this call stopped, from the values the ticket was read with
    (a loaded record remembers them); None when no run stopped here."""
    loaded = getattr(ticket, "loaded", None)
    if loaded is None or ticket.next_response_due_at is not None:
        return None
    due, started = loaded("next_response_due_at"), loaded("next_response_started_at")
    if due is None or started is None or ticket.next_response_started_at is not None:
        return None
    paused = loaded("next_response_paused_at")
    return ClockStopped(
        ticket_id=ticket.id,
        clock=NEXT_RESPONSE,
        cycle=int(started.timestamp()),
        due_at=due,
        ended_at=paused if paused is not None and paused < now else now,
        plan_id=loaded("sla_plan_id"),
        team_id=loaded("team_id"),
        department_id=loaded("department_id"),
    )


def record(session: Session, stopped: ClockStopped) -> bool:
    """Insert the run's outcome unless it is recorded already (ON CONFLICT DO NOTHING on
    the unique ticket, clock and run); True when this call recorded it. The caller commits."""
    outcome = outcome_of(stopped.due_at, stopped.ended_at)
    where = (stopped.plan_id, stopped.team_id, stopped.department_id)
    if outcome == BREACHED:
        step = session.execute(
            select(SlaStep.plan_id, SlaStep.team_id, SlaStep.department_id).where(
                SlaStep.ticket_id == stopped.ticket_id,
                SlaStep.clock == stopped.clock,
                SlaStep.cycle == stopped.cycle,
                SlaStep.step == BREACH,
            )
        ).first()
        if step is not None:
            where = tuple(step)
    values = {
        "ticket_id": stopped.ticket_id,
        "clock": stopped.clock,
        "cycle": stopped.cycle,
        "outcome": outcome,
        "due_at": stopped.due_at,
        "ended_at": stopped.ended_at,
        "plan_id": where[0],
        "team_id": where[1],
        "department_id": where[2],
    }
    return insert_once(session, SlaOutcome.__table__, values)
