"""The verbs of the help desk: open a ticket, apply an event, reply, add a note, explain.

Each call is one transaction: it validates, changes the ticket, writes the log, commits,
and returns an `Outcome` whose follow-ups (timers, notifications, live updates) the caller
dispatches after the commit. Anything refused raises before a single row changes; `now` and
the actor are always passed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from workflow import actions, clocks, engine, machines
from workflow.errors import (
    InvalidInput,
    PermissionDenied,
    StaleTicket,
    TransitionRejected,
)
from workflow.followups import FollowUp, LiveUpdate, Notify
from workflow.loading import compiled_version, load_ticket
from workflow.machines import Compiled
from workflow.models import (
    Counter,
    Department,
    EntryKind,
    HelpTopic,
    Role,
    SlaPlan,
    Team,
    ThreadEntry,
    Ticket,
    TransitionLog,
    User,
    VersionStatus,
    WorkflowVersion,
)
from workflow.rules import Actor, GuardContext
from workflow.sanitize import clean_html

T = TypeVar("T")
OPEN_EVENT = "open"
CUSTOMER_REPLY_EVENTS = ("customer_replied", "reopen")
LOGGED_PARAMS = ("assignee_id", "team_id", "department_id", "priority_id", "sla_plan_id")


@dataclass
class Outcome:
    """The changed ticket and what the caller must do once the transaction has committed."""

    ticket: Ticket
    follow_ups: list[FollowUp] = field(default_factory=list)


def actor_for(user: User) -> Actor:
    """The acting person as the domain sees them."""
    return Actor(user.id, Role(user.role).value, user.name)


@dataclass
class _Seen:
    """What the call read of its ticket, to name it if a concurrent writer wins."""

    number: int | None = None
    version: int | None = None

    def ticket(self, ticket: Ticket) -> Ticket:
        self.number, self.version = ticket.number, ticket.version
        return ticket


@contextmanager
def _transaction(session: Session) -> Iterator[_Seen]:
    """Commit on success; on any error roll back so nothing of the call remains.
    A concurrent write that bumped the version first surfaces as StaleTicket."""
    seen = _Seen()
    try:
        yield seen
        session.commit()
    except StaleDataError:
        session.rollback()
        raise StaleTicket(seen.number, seen.version, None) from None
    except BaseException:
        session.rollback()
        raise


# ---- open ----------------------------------------------------------------------------------


def _next_number(session: Session) -> int:
    """Hand out the next human ticket number under the counter's row lock."""
    number = session.execute(
        update(Counter)
        .where(Counter.name == "ticket_number")
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar_one_or_none()
    if number is None:
        session.add(Counter(name="ticket_number", value=100001))
        session.flush()
        number = 100001
    return number


def _published_version(session: Session, workflow_id: int) -> WorkflowVersion:
    version = session.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow_id,
            WorkflowVersion.status == VersionStatus.PUBLISHED,
        )
    )
    if version is None:
        raise InvalidInput("This help topic's workflow has no published version yet.")
    return version


def open_ticket(
    session: Session,
    *,
    requester_id: int,
    help_topic_id: int,
    subject: str,
    body: str,
    actor: Actor,
    now: datetime,
    linked_ticket_id: int | None = None,
) -> Outcome:
    """Open a ticket for `requester_id` (by themselves, or by an agent on their behalf).

    The help topic decides department, priority, SLA plan and workflow; the ticket starts
    in the workflow's initial state, with the message as the first thread entry.
    """
    with _transaction(session):
        return _open(
            session, requester_id, help_topic_id, subject, body, actor, now, linked_ticket_id
        )


def _open(
    session: Session,
    requester_id: int,
    help_topic_id: int,
    subject: str,
    body: str,
    actor: Actor,
    now: datetime,
    linked_ticket_id: int | None,
) -> Outcome:
    problems = []
    subject = (subject or "").strip()
    if not subject:
        problems.append("Give the ticket a subject.")
    elif len(subject) > 255:
        problems.append("The subject is too long (at most 255 characters).")
    if not (body or "").strip():
        problems.append("Describe the issue in the message.")
    topic = session.get(HelpTopic, help_topic_id)
    if topic is None or not topic.is_active:
        problems.append("Choose one of the help topics offered.")
    requester = session.get(User, requester_id)
    if requester is None or not requester.is_active:
        problems.append("The person the ticket is for does not exist.")
    if actor.role == "end_user" and actor.id != requester_id:
        raise PermissionDenied("You can only open tickets for yourself.")
    if problems:
        raise InvalidInput(problems)
    version = _published_version(session, topic.workflow_id)
    wf = compiled_version(session, version.id, version.checksum)
    ticket = Ticket(
        number=_next_number(session),
        subject=subject,
        requester_id=requester_id,
        department_id=topic.department_id,
        help_topic_id=topic.id,
        priority_id=topic.priority_id,
        sla_plan_id=topic.sla_plan_id,
        state=wf.definition.initial,
        workflow_version_id=version.id,
        linked_ticket_id=linked_ticket_id,
        created_at=now,
        updated_at=now,
    )
    clocks.start(
        ticket, session.get(SlaPlan, topic.sla_plan_id) if topic.sla_plan_id else None, now
    )
    clocks.recompute(ticket, wf.definition, now)
    session.add(ticket)
    session.flush()
    session.add(
        ThreadEntry(
            ticket_id=ticket.id,
            kind=EntryKind.CUSTOMER_MESSAGE,
            author_id=requester_id,
            body=clean_html(body),
            created_at=now,
        )
    )
    session.add(
        _log(
            ticket,
            actor,
            now,
            OPEN_EVENT,
            None,
            ticket.state,
            None,
            {"linked_ticket_id": linked_ticket_id} if linked_ticket_id else None,
        )
    )
    session.flush()
    return Outcome(
        ticket,
        [
            *clocks.timers(ticket, wf.definition),
            Notify("ticket_opened", ticket.id, requester_id),
            LiveUpdate(ticket.id, ticket.number, ticket.version),
        ],
    )


# ---- events --------------------------------------------------------------------------------


def _log(
    ticket: Ticket,
    actor: Actor,
    now: datetime,
    event: str,
    from_state: str | None,
    to_state: str,
    note: str | None,
    data: dict[str, Any] | None,
) -> TransitionLog:
    return TransitionLog(
        ticket_id=ticket.id,
        actor_id=actor.id,
        actor_role=actor.role,
        at=now,
        event=event,
        from_state=from_state,
        to_state=to_state,
        workflow_version_id=ticket.workflow_version_id,
        note=note,
        data=data,
    )


def _check_targets(session: Session, params: dict[str, Any]) -> None:
    """Referenced agents, teams and departments must exist (and agents be active staff)."""
    problems = []
    checks = (
        ("assignee_id", User, "agent"),
        ("team_id", Team, "team"),
        ("department_id", Department, "department"),
    )
    for key, model, what in checks:
        value = params.get(key)
        if value in (None, ""):
            continue
        try:
            row = session.get(model, int(value))
        except (TypeError, ValueError):
            row = None
        if row is None or (
            model is User and (not row.is_active or not row.is_staff or row.role == Role.OPS)
        ):
            problems.append(f"There is no active {what} with the id {value!r}.")
    if problems:
        raise InvalidInput(problems)


def _fire(
    session: Session,
    ticket: Ticket,
    wf: Compiled,
    event: str,
    actor: Actor,
    now: datetime,
    note: str | None,
    params: dict[str, Any],
) -> list[FollowUp]:
    """Decide, transition, act and log, without committing. Refusals raise before changes."""
    definition = wf.definition
    ctx = GuardContext(ticket, actor, now, event, note, params)
    decision = engine.decide(definition, ticket.state, event, ctx)
    if not decision.allowed:
        raise TransitionRejected(event, list(decision.reasons))
    _check_targets(session, params)
    from_state = ticket.state
    ticket.state = machines.send(wf, ticket.state, event, replace(ctx, event_label=decision.label))
    for name in definition.events[event].actions:
        for entry in actions.REGISTRY[name](ticket, ctx):
            entry.ticket_id = ticket.id
            session.add(entry)
    if definition.states[ticket.state].final and ticket.closed_at is None:
        ticket.closed_at = now
    ticket.updated_at = now
    data = {k: params[k] for k in LOGGED_PARAMS if params.get(k) not in (None, "")}
    session.add(
        _log(
            ticket,
            actor,
            now,
            event,
            from_state,
            ticket.state,
            note.strip() if note else None,
            data or None,
        )
    )
    return _recompute(ticket, wf, now)


def apply_event(
    session: Session,
    ticket_id: int,
    event: str,
    actor: Actor,
    now: datetime,
    note: str | None = None,
    expected_version: int | None = None,
    **params: Any,
) -> Outcome:
    """Fire `event` on a ticket as `actor`.

    Guarantees: a refused event raises TransitionRejected with every reason and leaves the
    ticket, its thread and its log untouched; a stale `expected_version` (or a concurrent
    writer that got there first) raises StaleTicket; on success exactly one log row is added.
    """
    with _transaction(session) as seen:
        ticket, wf = load_ticket(session, ticket_id, actor, expected_version)
        seen.ticket(ticket)
        follow_ups = _fire(session, ticket, wf, event, actor, now, note, params)
        session.flush()
    return Outcome(ticket, [*follow_ups, LiveUpdate(ticket.id, ticket.number, ticket.version)])


# ---- thread --------------------------------------------------------------------------------


def reply(
    session: Session,
    ticket_id: int,
    actor: Actor,
    now: datetime,
    body: str,
    expected_version: int | None = None,
) -> Outcome:
    """A message on the public thread.

    From the customer it is always stored, and fires `customer_replied` or `reopen` where
    the workflow defines one for the current state; on a closed ticket it opens a new ticket
    linked to the old one. From staff it is a public reply (and the first one stops the
    first-response clock).
    """
    if not (body or "").strip():
        raise InvalidInput("Write a message before sending it.")
    with _transaction(session) as seen:
        ticket, wf = load_ticket(session, ticket_id, actor, expected_version)
        seen.ticket(ticket)
        state = wf.definition.states[ticket.state]
        if actor.role == "end_user":
            if state.final:
                return _open(
                    session,
                    ticket.requester_id,
                    ticket.help_topic_id,
                    f"Re: {ticket.subject}"[:255],
                    body,
                    actor,
                    now,
                    ticket.id,
                )
            kind = EntryKind.CUSTOMER_MESSAGE
        elif actor.role in ("agent", "admin"):
            if state.final:
                raise TransitionRejected(
                    "reply", ["This ticket is closed; the customer's next message opens a new one."]
                )
            kind = EntryKind.PUBLIC_REPLY
            if ticket.first_responded_at is None:
                ticket.first_responded_at = now
        else:
            raise PermissionDenied("Only agents and admins reply to customers.")
        session.add(
            ThreadEntry(
                ticket_id=ticket.id,
                kind=kind,
                author_id=actor.id,
                body=clean_html(body),
                created_at=now,
            )
        )
        ticket.updated_at = now
        follow_ups = (
            _customer_event(session, ticket, wf, actor, now)
            if (kind == EntryKind.CUSTOMER_MESSAGE)
            else _recompute(ticket, wf, now)
        )
        session.flush()
    return Outcome(ticket, [*follow_ups, LiveUpdate(ticket.id, ticket.number, ticket.version)])


def _recompute(ticket: Ticket, wf: Compiled, now: datetime) -> list[FollowUp]:
    clocks.recompute(ticket, wf.definition, now)
    return clocks.timers(ticket, wf.definition)


def _customer_event(
    session: Session, ticket: Ticket, wf: Compiled, actor: Actor, now: datetime
) -> list[FollowUp]:
    for event in CUSTOMER_REPLY_EVENTS:
        ctx = GuardContext(ticket, actor, now, event)
        if engine.decide(wf.definition, ticket.state, event, ctx).allowed:
            return _fire(session, ticket, wf, event, actor, now, None, {})
    return _recompute(ticket, wf, now)


def add_note(
    session: Session,
    ticket_id: int,
    actor: Actor,
    now: datetime,
    body: str,
    expected_version: int | None = None,
) -> Outcome:
    """An internal note for staff; never shown to the customer."""
    if not actor.is_staff:
        raise PermissionDenied("Only staff can add internal notes.")
    if not (body or "").strip():
        raise InvalidInput("Write the note before saving it.")
    with _transaction(session) as seen:
        ticket, _wf = load_ticket(session, ticket_id, actor, expected_version)
        seen.ticket(ticket)
        session.add(
            ThreadEntry(
                ticket_id=ticket.id,
                kind=EntryKind.INTERNAL_NOTE,
                author_id=actor.id,
                body=clean_html(body),
                created_at=now,
            )
        )
        ticket.updated_at = now
        session.flush()
    return Outcome(ticket, [LiveUpdate(ticket.id, ticket.number, ticket.version)])


def explain(
    session: Session, ticket: Ticket, actor: Actor, now: datetime, **params: Any
) -> list[engine.Decision]:
    """For each event of the ticket's current state: may `actor` fire it now, and if not,
    every reason why (what a form must still collect is listed under `needs`)."""
    wf = compiled_version(session, ticket.workflow_version_id)
    ctx = GuardContext(ticket, actor, now, "", params.pop("note", None), params)
    return engine.explain(wf.definition, ticket.state, ctx)
