"""Settings of a ticket an agent changes outside the workflow: its priority and its SLA plan.

These are not lifecycle events (a ticket keeps its state), but they are ticket writes like
any other: one transaction each, through the same write path as the services (an optimistic
version check, a system-event row in the log saying what changed from what, follow-ups for
the caller to dispatch after the commit). A new SLA plan restarts the ticket's clocks from
`now` under the new targets, so the queues' `next_due_at` and the timers follow at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import clocks, plan_terms
from workflow.errors import InvalidInput, NotFound, PermissionDenied, TransitionRejected
from workflow.followups import FollowUp, LiveUpdate
from workflow.machines import Compiled
from workflow.models import Priority, SlaPlan, staff_departments
from workflow.outcome import Outcome, log_row, transaction
from workflow.rules import Actor
from workflow.ticket_record import TicketChange, TicketRecord, load_record

CHANGE_PRIORITY = "change_priority"
CHANGE_SLA_PLAN = "change_sla_plan"
SETTINGS_ROLES = ("agent", "admin")
SETTINGS = ("priority_id", "sla_plan_id")
"""The columns these verbs change; the log row's data holds each one's [old, new]."""
NOT_VISIBLE = "There is no such ticket, or it belongs to a department you do not work in."


def may_see(session: Session, ticket: TicketRecord, actor: Actor) -> bool:
    """Whether a staff member may see this ticket: admins and ops all tickets, agents those
    of their departments and those assigned to them (the rule the staff pages apply)."""
    if actor.role in ("admin", "ops"):
        return True
    if actor.role != "agent":
        return False
    if ticket.assignee_id == actor.id:
        return True
    found = session.scalar(
        select(staff_departments.c.department_id).where(
            staff_departments.c.user_id == actor.id,
            staff_departments.c.department_id == ticket.department_id,
        )
    )
    return found is not None


def _change(
    session: Session,
    ticket_id: int,
    actor: Actor,
    now: datetime,
    expected_version: int | None,
    event: str,
    apply: Callable[[TicketRecord, Compiled], tuple[str, list[FollowUp]]],
) -> Outcome:
    """Load, check who acts and that the ticket is still open, let `apply` change the record
    (it returns the log note and its follow-ups), log, save and commit."""
    if actor.role not in SETTINGS_ROLES:
        raise PermissionDenied("Only agents and admins change a ticket's priority or SLA plan.")
    with transaction(session) as seen:
        ticket, wf = load_record(session, ticket_id, actor, expected_version)
        seen.ticket(ticket)
        if not may_see(session, ticket, actor):
            raise NotFound(NOT_VISIBLE)
        if ticket.closed_at is not None or wf.definition.states[ticket.state].final:
            closed = (
                f"Ticket #{ticket.number} is closed; its priority and SLA plan stay as they are."
            )
            raise TransitionRejected(event, [closed])
        before = {key: getattr(ticket, key) for key in SETTINGS}
        note, follow_ups = apply(ticket, wf)
        ticket.updated_at = now
        change = TicketChange(ticket)
        change.logs.append(
            log_row(
                ticket,
                actor,
                now,
                event,
                ticket.state,
                ticket.state,
                note,
                {k: [v, getattr(ticket, k)] for k, v in before.items() if getattr(ticket, k) != v},
            )
        )
        change.save(session)
    return Outcome(ticket, [*follow_ups, LiveUpdate(ticket.id, ticket.number, ticket.version)])


def change_priority(
    session: Session,
    ticket_id: int,
    priority_id: int | str | None,
    actor: Actor,
    now: datetime,
    expected_version: int | None = None,
) -> Outcome:
    """Give a ticket another priority (queues sort by it first).

    Guarantees: only agents who may see the ticket and admins; never on a closed ticket; an
    unknown or unchanged priority is refused with a sentence; a stale `expected_version`
    raises StaleTicket; on success one `change_priority` row in the log holds old and new.
    Refusals change nothing.
    """

    def apply(ticket: TicketRecord, wf: Compiled) -> tuple[str, list[FollowUp]]:
        names = dict(session.execute(select(Priority.id, Priority.name)).all())
        new = _as_id(priority_id)
        if new not in names:
            raise InvalidInput("Choose one of the priorities offered.")
        if new == ticket.priority_id:
            raise InvalidInput(f"Ticket #{ticket.number} already has {names[new]} priority.")
        old = names.get(ticket.priority_id, "no")
        ticket.priority_id = new
        return f"Priority changed from {old} to {names[new]}.", []

    return _change(session, ticket_id, actor, now, expected_version, CHANGE_PRIORITY, apply)


def change_sla_plan(
    session: Session,
    ticket_id: int,
    sla_plan_id: int | str | None,
    actor: Actor,
    now: datetime,
    expected_version: int | None = None,
) -> Outcome:
    """Put a ticket under another SLA plan (or none), restarting its clocks from `now`.

    Guarantees as for `change_priority`; in addition the due times are those of the new
    plan counted from `now` (a first response already given stays given), `next_due_at`
    follows, and the timer follow-ups replace the old plan's timers.
    """

    def apply(ticket: TicketRecord, wf: Compiled) -> tuple[str, list[FollowUp]]:
        new = None if sla_plan_id in (None, "") else _as_id(sla_plan_id)
        plan = session.get(SlaPlan, new) if new is not None else None
        if new is not None and plan is None:
            raise InvalidInput("Choose one of the SLA plans offered.")
        if new == ticket.sla_plan_id:
            raise InvalidInput(
                f"Ticket #{ticket.number} is already under "
                + (f"the SLA plan {plan.name}." if plan else "no SLA plan.")
            )
        old = session.get(SlaPlan, ticket.sla_plan_id) if ticket.sla_plan_id else None
        ticket.sla_plan_id = new
        terms = plan_terms.load(session, new)
        # start: every clock's target counted from now (a first response already given stays
        # given), pauses forgotten; recompute: pause again what this state pauses
        clocks.start(ticket, terms, now)
        clocks.recompute(ticket, wf.definition, now, terms)
        note = (
            f"SLA plan changed from {old.name if old else 'none'} to "
            f"{plan.name if plan else 'none'}; its clocks restart now."
        )
        return note, clocks.timers(ticket, wf.definition, terms, now)

    return _change(session, ticket_id, actor, now, expected_version, CHANGE_SLA_PLAN, apply)


def _as_id(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
