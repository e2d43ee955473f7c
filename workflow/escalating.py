"""Running SLA steps: the verb behind the timer jobs and the sweep.

`run_due` re-reads the ticket, works out which steps of its running clocks are due at `now`
and not yet done, and runs each one in one transaction with the ticket's write: the row in
`sla_steps` (unique per ticket, clock, run and step, inserted with ON CONFLICT DO NOTHING),
the policy's actions (notify, raise the priority, reassign to a team, add a note, fire a
workflow event as the system), a system event in the thread and a `sla_step` row in the log.
A second run of the same step, on another worker at the same moment or a minute later,
finds the row and does nothing; a concurrent agent's write makes it start over from a
fresh read. Nothing here reads a clock: `now` is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from workflow import clocks, escalation, outbox, plan_terms, services
from workflow.errors import NotFound, StaleTicket, TransitionRejected
from workflow.escalation import Action, Timer
from workflow.followups import FollowUp, LiveUpdate, Notify, ScheduleTimer
from workflow.insert_once import insert_once
from workflow.machines import Compiled
from workflow.models import (
    Department,
    EntryKind,
    Notification,
    Priority,
    SlaStep,
    Team,
    ThreadEntry,
    Ticket,
    User,
    team_members,
)
from workflow.outcome import log_row, transaction
from workflow.rules import Actor
from workflow.ticket_record import TicketChange, TicketRecord, load_record

STEP_EVENT = "sla_step"
SYSTEM = Actor.system()
ATTEMPTS = 5
CLOCK_NAMES = {
    "first_response": "first-response",
    "next_response": "next-response",
    "resolution": "resolution",
}


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
            result.follow_ups += _perform(session, change, wf, timer, now)
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


# ---- what a step does -----------------------------------------------------------------------


def _perform(
    session: Session, change: TicketChange, wf: Compiled, timer: Timer, now: datetime
) -> list[FollowUp]:
    ticket = change.record
    before = {"priority_id": ticket.priority_id, "team_id": ticket.team_id}
    lines = [headline(ticket, timer)]
    follow_ups: list[FollowUp] = []
    actions = timer.actions
    if timer.clock == clocks.SILENCE:
        actions = (Action("event", timer.step),)
    for action in actions:
        said, more = _act(session, change, wf, timer, action, lines[0], now)
        lines.append(said)
        follow_ups += more
    text = " ".join(lines)
    change.entries.append(  # a body is HTML (shown as is); this text names teams and priorities
        ThreadEntry(
            kind=EntryKind.SYSTEM_EVENT, author_id=None, body=escape(text, False), created_at=now
        )
    )
    data = {"clock": timer.clock, "step": timer.step}
    data.update({k: [v, getattr(ticket, k)] for k, v in before.items() if getattr(ticket, k) != v})
    change.logs.append(
        log_row(ticket, SYSTEM, now, STEP_EVENT, ticket.state, ticket.state, text, data)
    )
    session.execute(
        update(SlaStep)
        .where(
            SlaStep.ticket_id == ticket.id,
            SlaStep.clock == timer.clock,
            SlaStep.cycle == timer.cycle,
            SlaStep.step == timer.step,
        )
        .values(actions=lines[1:])
        .execution_options(synchronize_session=False)
    )
    return follow_ups


def headline(ticket: TicketRecord, timer: Timer) -> str:
    """The first sentence of the step's system event, e.g. "The resolution clock is at risk:
    due 2026-11-23 17:00 UTC." """
    if timer.clock == clocks.SILENCE:
        return f"No answer since the resolution on {_when(ticket.resolved_at)}."
    name = CLOCK_NAMES.get(timer.clock, timer.clock)
    due = _when(getattr(ticket, f"{timer.clock}_due_at"))
    if timer.step == escalation.AT_RISK:
        return f"The {name} clock is at risk: due {due}."
    if timer.step == escalation.BREACH:
        return f"The {name} target was missed: it was due {due}."
    minutes = timer.step.rsplit("_", 1)[-1]
    return f"{minutes} business minutes past the {name} deadline of {due}."


def _act(
    session: Session,
    change: TicketChange,
    wf: Compiled,
    timer: Timer,
    action: Action,
    headline_text: str,
    now: datetime,
) -> tuple[str, list[FollowUp]]:
    """Do one action; return the sentence saying what happened and its follow-ups."""
    ticket = change.record
    if action.kind == "notify":
        return _notify(session, ticket, timer, action.value, headline_text, now)
    if action.kind == "raise_priority":
        top = session.scalar(select(func.max(Priority.id))) or ticket.priority_id
        new = min(top, ticket.priority_id + action.value)
        if new == ticket.priority_id:
            return "The priority is already the highest.", []
        ticket.priority_id = new
        name = session.get(Priority, new)
        return f"Priority raised to {name.name if name else new}.", []
    if action.kind == "reassign":
        team = session.scalar(select(Team).where(Team.name == action.value))
        if team is None:
            return f"There is no team called {action.value}, so the ticket stays where it is.", []
        if ticket.team_id == team.id and ticket.assignee_id is None:
            return f"Already with the team {team.name}.", []
        ticket.team_id, ticket.assignee_id = team.id, None
        return f"Reassigned to the team {team.name}.", []
    if action.kind == "note":
        change.entries.append(
            ThreadEntry(  # the admin typed text, not HTML: escaped to show as typed
                kind=EntryKind.INTERNAL_NOTE,
                author_id=None,
                body=escape(action.value, False),
                created_at=now,
            )
        )
        return "Added an internal note.", []
    try:  # event
        follow_ups = services.fire_in_transaction(  # recorded with the step's notices
            session, change, wf, action.value, SYSTEM, now, headline_text, record=False
        )
    except TransitionRejected as refused:
        return f"`{action.value}` could not fire: {' '.join(refused.reasons)}", []
    return f"Fired `{action.value}`.", follow_ups


def _notify(
    session: Session,
    ticket: TicketRecord,
    timer: Timer,
    who: str,
    text: str,
    now: datetime,
) -> tuple[str, list[FollowUp]]:
    """In-app notices now (in this transaction) and mail after the commit (Notify)."""
    people = _recipients(session, ticket, who)
    if not people:
        reason = {
            "assignee": "the ticket has no assignee",
            "team": "the ticket has no team, or its team no active members",
            "manager": "its department has no manager",
        }[who]
        return f"Nobody to notify: {reason}.", []
    kind = f"sla.{timer.clock}.{timer.step}"
    body = f"Ticket #{ticket.number} ({ticket.subject}): {text}"
    for person in people:
        session.add(
            Notification(
                user_id=person.id, ticket_id=ticket.id, kind=kind, body=body, created_at=now
            )
        )
    names = ", ".join(p.name for p in people)
    return f"Notified {names}.", [Notify(kind, ticket.id, p.id) for p in people]


def _recipients(session: Session, ticket: TicketRecord, who: str) -> list[User]:
    query = select(User).where(User.is_active.is_(True))
    if who == "assignee":
        if ticket.assignee_id is None:
            return []
        query = query.where(User.id == ticket.assignee_id)
    elif who == "team":
        if ticket.team_id is None:
            return []
        query = query.join(team_members, team_members.c.user_id == User.id).where(
            team_members.c.team_id == ticket.team_id
        )
    else:
        manager = select(Department.manager_id).where(Department.id == ticket.department_id)
        query = query.where(User.id == manager.scalar_subquery())
    return list(session.scalars(query.order_by(User.id)))


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at is not None else "an unknown time"
