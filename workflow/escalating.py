"""Running SLA steps: the verb behind the timer jobs and the sweep.

`run_due` re-reads the ticket, works out which steps of its running clocks are due at `now`
and not yet done, and runs each one in one transaction with the ticket's write: the row in
`sla_steps` (unique per ticket, clock, run and step, inserted with ON CONFLICT DO NOTHING),
the policy's actions (notify, raise the priority, reassign to a team, add a note, fire a
workflow event as the system), a system event in the thread and a `sla_step` row in the log.
A second run of the same step, on another worker at the same moment or a minute later,
finds the row and does nothing; a concurrent agent's write makes it start over from a
fresh read. Nothing here reads a clock: `now` is passed in. What a claimed step does and
how it is recorded is workflow/step_actions.py; this module decides when a step runs and
that it runs once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workflow import clocks, escalation, outbox, plan_terms
from workflow.errors import NotFound, StaleTicket
from workflow.escalation import Timer
from workflow.followups import FollowUp, LiveUpdate, ScheduleTimer
from workflow.insert_once import insert_once
from workflow.models import SlaStep, Ticket
from workflow.outcome import transaction
from workflow.step_actions import STEP_EVENT, SYSTEM, perform
from workflow.ticket_record import TicketChange, TicketRecord, load_record

# STEP_EVENT (the log's name for a step) lives with what a step records; importable here too.
__all__ = ["STEP_EVENT", "StepsRun", "next_timers", "preview", "run_due"]

ATTEMPTS = 5


@dataclass
class StepsRun:
    """What one call did: the steps it ran (none when they were due elsewhere or done) and
    the follow-ups to dispatch once it has committed (mail, timers, a live update)."""

    ticket_id: int
    ran: list[Timer] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)


def run_due(
    session: Session, ticket_id: int, now: datetime, up_to: tuple[str, str] | None = None
) -> StepsRun:
    """Run the ticket's steps due at `now` and not done yet, each exactly once.

    `up_to=(clock, step)` runs only that clock's steps up to `step` (a timer job's own step
    and any earlier one that was lost). Safe to call twice or concurrently; an agent writing
    the ticket meanwhile makes it read again and retry.
    """
    for _ in range(ATTEMPTS - 1):
        try:
            return _run(session, ticket_id, now, up_to)
        except StaleTicket:
            continue
    return _run(session, ticket_id, now, up_to)


def _run(
    session: Session, ticket_id: int, now: datetime, up_to: tuple[str, str] | None
) -> StepsRun:
    result = StepsRun(ticket_id)
    with transaction(session):
        try:
            ticket, wf = load_record(session, ticket_id, SYSTEM)
        except NotFound:
            return result
        terms = plan_terms.load(session, ticket.sla_plan_id)
        done = _done(session, ticket.id)
        due = escalation.due_steps(
            clocks.timeline(ticket, wf.definition, terms, now), now, done, up_to
        )
        change = TicketChange(ticket)
        for timer in due:
            if not _claim(session, ticket, timer, now):
                continue  # another worker ran it first
            result.ran.append(timer)
            done.add(timer.record_key)
            result.follow_ups += perform(session, change, wf, timer, now)
        after = clocks.timeline(ticket, wf.definition, terms, now)
        pending = escalation.next_pending(after, done)
        result.follow_ups += next_timers(ticket.id, after, done, up_to[0] if up_to else None)
        if result.ran:
            ticket.timer_due_at = pending
            change.save(session)
            result.follow_ups = outbox.record(session, result.follow_ups, now)
            result.follow_ups.append(LiveUpdate(ticket.id, ticket.number, ticket.version))
        elif pending != ticket.timer_due_at:
            _move_timer(session, ticket, pending)
    return result


def next_timers(
    ticket_id: int, timeline: list[Timer], done: set, clock: str | None = None
) -> list[FollowUp]:
    """The timer of each clock's next step not done yet (of `clock` only, if given): how a
    step's job hands on to the next step, and how the sweep sets lost timers again."""
    first: dict[str, Timer] = {}
    for timer in timeline:  # in time order
        if timer.record_key not in done and (clock is None or timer.clock == clock):
            first.setdefault(timer.clock, timer)
    return [ScheduleTimer(ticket_id, t.clock, t.at, t.step) for t in first.values()]


def preview(session: Session, ticket_id: int, now: datetime) -> tuple[list[Timer], set]:
    """Read only: the ticket's timeline at `now` and the steps already done (for the ops
    view, and to warm a worker's caches before it forks)."""
    ticket, wf = load_record(session, ticket_id, SYSTEM)
    terms = plan_terms.load(session, ticket.sla_plan_id)
    return clocks.timeline(ticket, wf.definition, terms, now), _done(session, ticket.id)


def _done(session: Session, ticket_id: int) -> set[tuple[str, int, str]]:
    rows = session.execute(
        select(SlaStep.clock, SlaStep.cycle, SlaStep.step).where(SlaStep.ticket_id == ticket_id)
    )
    return {(c, n, s) for c, n, s in rows}


def _claim(session: Session, ticket: TicketRecord, timer: Timer, now: datetime) -> bool:
    """Insert the step's row; False when it is there already (committed by someone else,
    or committed while this insert waited for it: PostgreSQL then skips the row)."""
    values = {
        "ticket_id": ticket.id,
        "clock": timer.clock,
        "cycle": timer.cycle,
        "step": timer.step,
        "due_at": timer.at,
        "done_at": now,
        "actions": None,
        "plan_id": ticket.sla_plan_id,  # where the step happened, before its own actions
        "team_id": ticket.team_id,
        "department_id": ticket.department_id,
    }
    return insert_once(session, SlaStep.__table__, values)


def _move_timer(session: Session, ticket: TicketRecord, pending: datetime | None) -> None:
    """Only `timer_due_at` moves (past steps done elsewhere): no version bump, so no agent's
    open form goes stale for it; skipped when the ticket changed since it was read."""
    session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.version == ticket.loaded_version)
        .values(timer_due_at=pending)
        .execution_options(synchronize_session=False)
    )
