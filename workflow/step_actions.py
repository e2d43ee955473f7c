"""What one SLA step does, once workflow/escalating.py has claimed it.

`perform` applies the step's policy actions to the ticket inside the caller's transaction
(notify, raise the priority, reassign to a team, add a note, fire a workflow event as the
system), then records what happened: a system event in the thread, a `sla_step` row in the
log, and the sentences it said in the step's `sla_steps` row. Each action answers with a
sentence (also when there was nothing to do, e.g. nobody to notify) so the thread shows why.
Mail goes out only after the commit, as `Notify` follow-ups; in-app notices are written here.
Kept apart from the claiming and retrying in workflow/escalating.py: this part knows the
actions, that part knows when a step runs and that it runs once.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from workflow import clocks, escalation, services
from workflow.errors import TransitionRejected
from workflow.escalation import Action, Timer
from workflow.followups import FollowUp, Notify
from workflow.machines import Compiled
from workflow.models import (
    Department,
    EntryKind,
    Notification,
    Priority,
    SlaStep,
    Team,
    ThreadEntry,
    User,
    team_members,
)
from workflow.outcome import log_row
from workflow.rules import Actor
from workflow.ticket_record import TicketChange, TicketRecord

STEP_EVENT = "sla_step"
SYSTEM = Actor.system()
CLOCK_NAMES = {
    "first_response": "first-response",
    "next_response": "next-response",
    "resolution": "resolution",
}


def perform(
    session: Session, change: TicketChange, wf: Compiled, timer: Timer, now: datetime
) -> list[FollowUp]:
    """Do the step's actions and record them (thread, log, its `sla_steps` row); return the
    follow-ups to dispatch after the commit. Writes only inside the caller's transaction."""
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
