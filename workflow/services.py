"""The verbs of the help desk: open a ticket, apply an event, reply, add a note, explain.

Each call is one transaction: it validates, changes the ticket, writes the log, commits,
and returns an `Outcome` whose follow-ups (timers, notifications, live updates) the caller
dispatches after the commit. Anything refused raises before a single row changes; `now` and
the actor are always passed in. Changes go through the write path in `ticket_record`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from workflow import actions, clocks, engine, machines, notices, outbox, plan_terms, sla_outcomes
from workflow.attachments import Staged, add_message
from workflow.errors import InvalidInput, PermissionDenied, TransitionRejected
from workflow.followups import FollowUp, LiveUpdate
from workflow.loading import compiled_version
from workflow.machines import Compiled
from workflow.models import EntryKind, Role, ThreadEntry, User
from workflow.opening import open_in_transaction, open_ticket
from workflow.outcome import Outcome, log_row, transaction
from workflow.rules import Actor, GuardContext, TicketView
from workflow.sanitize import clean_html
from workflow.targets import check_targets
from workflow.ticket_record import TicketChange, TicketRecord, load_record

__all__ = [
    "Applied",
    "Outcome",
    "actor_for",
    "add_note",
    "apply_event",
    "explain",
    "fire_in_transaction",
    "open_ticket",
    "reply",
]

CUSTOMER_REPLY_EVENTS = ("customer_replied", "reopen")
LOGGED_PARAMS = ("assignee_id", "team_id", "department_id", "priority_id", "sla_plan_id")


def actor_for(user: User) -> Actor:
    """The acting person as the domain sees them."""
    return Actor(user.id, Role(user.role).value, user.name)


def _fire(
    session: Session,
    change: TicketChange,
    wf: Compiled,
    event: str,
    actor: Actor,
    now: datetime,
    note: str | None,
    params: dict[str, Any],
) -> list[FollowUp]:
    """Decide, transition, act and log, without writing. Refusals raise before changes."""
    ticket = change.record
    definition = wf.definition
    known = definition.events.get(event)
    ctx = GuardContext(ticket, actor, now, known.label if known else event, note, params)
    decision = engine.decide(definition, ticket.state, event, ctx)
    if not decision.allowed:
        raise TransitionRejected(event, list(decision.reasons))
    check_targets(session, params)
    from_state = ticket.state
    before = (ticket.assignee_id, ticket.resolved_at, len(change.entries))
    ticket.state = machines.send(wf, ticket.state, event, ctx)
    for name in definition.events[event].actions:
        change.entries.extend(actions.REGISTRY[name](ticket, ctx))
    if definition.states[ticket.state].final and ticket.closed_at is None:
        ticket.closed_at = now
    ticket.updated_at = now
    data = {k: params[k] for k in LOGGED_PARAMS if params.get(k) not in (None, "")}
    change.logs.append(
        log_row(
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
    told = notices.after_event(ticket, actor, *before[:2], change.entries[before[2] :])
    return [*_recompute(session, ticket, wf, now), *told]


@dataclass
class Applied(Outcome):
    """`apply_event`'s outcome, with what the call wrote (the record as saved, its new thread
    entries and log rows) and the ticket's workflow: enough for the caller to show the change
    without reading the ticket back (the agent's page answers with only what changed)."""

    change: TicketChange | None = None
    workflow: Compiled | None = None


def apply_event(
    session: Session,
    ticket_id: int,
    event: str,
    actor: Actor,
    now: datetime,
    note: str | None = None,
    expected_version: int | None = None,
    **params: Any,
) -> Applied:
    """Fire `event` on a ticket as `actor`.

    Guarantees: a refused event raises TransitionRejected with every reason and leaves the
    ticket, its thread and its log untouched; a stale `expected_version` (or a concurrent
    writer that got there first) raises StaleTicket; on success exactly one log row is added.
    """
    with transaction(session) as seen:
        ticket, wf = load_record(session, ticket_id, actor, expected_version)
        seen.ticket(ticket)
        change = TicketChange(ticket)
        follow_ups = _fire(session, change, wf, event, actor, now, note, params)
        change.save(session)
        follow_ups = outbox.record(session, follow_ups, now)  # after the rows it pins
    live = LiveUpdate(ticket.id, ticket.number, ticket.version)
    return Applied(ticket, [*follow_ups, live], change, wf)


def fire_in_transaction(
    session: Session,
    change: TicketChange,
    wf: Compiled,
    event: str,
    actor: Actor,
    now: datetime,
    note: str | None = None,
    record: bool = True,
    **params: Any,
) -> list[FollowUp]:
    """`apply_event`'s decision, transition, actions and log row inside the caller's
    transaction, for a verb that moves several tickets at once and must leave every one of
    them as it was when one is refused (handing a deactivated agent's tickets over).
    Raises before the record changes; the caller saves `change` and commits.

    Its notices are written to the mail outbox here, unpinned (the rows they are about are
    written by the caller's save), unless `record=False`: then the caller passes the
    follow-ups to `outbox.record` after `change.save` (the escalation steps do)."""
    follow_ups = _fire(session, change, wf, event, actor, now, note, params)
    return outbox.record(session, follow_ups, now, pin=False) if record else follow_ups


# ---- thread --------------------------------------------------------------------------------


def reply(
    session: Session,
    ticket_id: int,
    actor: Actor,
    now: datetime,
    body: str,
    expected_version: int | None = None,
    attachments: Sequence[Staged] = (),
) -> Outcome:
    """A message on the public thread.

    From the customer it is always stored, and fires `customer_replied` or `reopen` where
    the workflow defines one for the current state; on a closed ticket it opens a new ticket
    linked to the old one (and the files go with the message, to the new ticket). From staff
    it is a public reply (and the first one stops the first-response clock). `attachments`
    (staged files) get their rows with the message, in the same transaction.
    """
    if not (body or "").strip():
        raise InvalidInput("Write a message before sending it.")
    with transaction(session) as seen:
        ticket, wf = load_record(session, ticket_id, actor, expected_version)
        seen.ticket(ticket)
        change = TicketChange(ticket)
        state = wf.definition.states[ticket.state]
        if actor.role == "end_user":
            if state.final:
                return open_in_transaction(
                    session,
                    ticket.requester_id,
                    ticket.help_topic_id,
                    f"Re: {ticket.subject}"[:255],
                    body,
                    actor,
                    now,
                    ticket.id,
                    attachments=attachments,
                )
            kind = EntryKind.CUSTOMER_MESSAGE
            clocks.customer_message(ticket, now, plan_terms.lazy(session, ticket.sla_plan_id))
        elif actor.role in ("agent", "admin"):
            if state.final:
                raise TransitionRejected(
                    "reply", ["This ticket is closed; the customer's next message opens a new one."]
                )
            kind = EntryKind.PUBLIC_REPLY
            clocks.public_reply(ticket, now)
        else:
            raise PermissionDenied("Only agents and admins reply to customers.")
        add_message(
            session,
            change,
            ThreadEntry(kind=kind, author_id=actor.id, body=clean_html(body), created_at=now),
            attachments,
        )
        ticket.updated_at = now
        follow_ups = (
            _customer_event(session, change, wf, actor, now)
            if (kind == EntryKind.CUSTOMER_MESSAGE)
            else [*_recompute(session, ticket, wf, now), *notices.public_reply(ticket, actor)]
        )
        change.save(session)
        follow_ups = outbox.record(session, follow_ups, now)  # after the rows it pins
    return Outcome(ticket, [*follow_ups, LiveUpdate(ticket.id, ticket.number, ticket.version)])


def _recompute(session: Session, ticket: TicketView, wf: Compiled, now: datetime) -> list[FollowUp]:
    """Timer follow-ups for the clocks this call changed; the plan is read only if one did.
    A next-response run this call stopped is recorded (met or breached) in this transaction."""
    terms = plan_terms.lazy(session, ticket.sla_plan_id)  # type: ignore[attr-defined]
    follow_ups = clocks.recompute(ticket, wf.definition, now, terms)
    stopped = sla_outcomes.next_response_stopped(ticket, now)
    if stopped is not None:
        sla_outcomes.record(session, stopped)
    return follow_ups


def _customer_event(
    session: Session, change: TicketChange, wf: Compiled, actor: Actor, now: datetime
) -> list[FollowUp]:
    """A customer's message fires the first of CUSTOMER_REPLY_EVENTS the workflow allows."""
    ticket = change.record
    for event in CUSTOMER_REPLY_EVENTS:
        ctx = GuardContext(ticket, actor, now, event)
        if engine.decide(wf.definition, ticket.state, event, ctx).allowed:
            return _fire(session, change, wf, event, actor, now, None, {})
    return _recompute(session, ticket, wf, now)


def add_note(
    session: Session,
    ticket_id: int,
    actor: Actor,
    now: datetime,
    body: str,
    expected_version: int | None = None,
    attachments: Sequence[Staged] = (),
) -> Outcome:
    """An internal note for staff; never shown to the customer (nor are its `attachments`,
    whose rows are written with it, in the same transaction)."""
    if not actor.is_staff:
        raise PermissionDenied("Only staff can add internal notes.")
    if not (body or "").strip():
        raise InvalidInput("Write the note before saving it.")
    with transaction(session) as seen:
        ticket, _wf = load_record(session, ticket_id, actor, expected_version)
        seen.ticket(ticket)
        change = TicketChange(ticket)
        add_message(
            session,
            change,
            ThreadEntry(
                kind=EntryKind.INTERNAL_NOTE,
                author_id=actor.id,
                body=clean_html(body),
                created_at=now,
            ),
            attachments,
        )
        ticket.updated_at = now
        change.save(session)
    return Outcome(ticket, [LiveUpdate(ticket.id, ticket.number, ticket.version)])


def explain(
    session: Session,
    ticket: TicketView | TicketRecord,
    actor: Actor,
    now: datetime,
    workflow: Compiled | None = None,
    **params: Any,
) -> list[engine.Decision]:
    """For each event of the ticket's current state: may `actor` fire it now, and if not,
    every reason why (what a form must still collect is listed under `needs`). A caller
    that holds the ticket's compiled `workflow` passes it (saves reading its checksum)."""
    wf = workflow or compiled_version(session, ticket.workflow_version_id)
    ctx = GuardContext(ticket, actor, now, "", params.pop("note", None), params)
    return engine.explain(wf.definition, ticket.state, ctx)
