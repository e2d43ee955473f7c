"""Opening a ticket: by an end user in the Support Center, or by an agent on their behalf."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from workflow import clocks, outbox, plan_terms
from workflow.attachments import Staged, record
from workflow.errors import InvalidInput, PermissionDenied
from workflow.followups import LiveUpdate, Notify
from workflow.loading import compiled_version
from workflow.models import (
    Counter,
    EntryKind,
    HelpTopic,
    ThreadEntry,
    Ticket,
    TransitionLog,
    User,
    VersionStatus,
    WorkflowVersion,
)
from workflow.outcome import Outcome, log_row, transaction
from workflow.rules import Actor
from workflow.sanitize import clean_html

OPEN_EVENT = "open"


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
    attachments: Sequence[Staged] = (),
) -> Outcome:
    """Open a ticket for `requester_id` (by themselves, or by an agent on their behalf).

    The help topic decides department, priority, SLA plan and workflow; the ticket starts
    in the workflow's initial state, with the message as the first thread entry and the
    staged `attachments` on it (uploaded by `actor`), all in one transaction.
    """
    with transaction(session):
        return open_in_transaction(
            session,
            requester_id,
            help_topic_id,
            subject,
            body,
            actor,
            now,
            linked_ticket_id,
            attachments=attachments,
        )


def open_in_transaction(
    session: Session,
    requester_id: int,
    help_topic_id: int,
    subject: str,
    body: str,
    actor: Actor,
    now: datetime,
    linked_ticket_id: int | None,
    attachments: Sequence[Staged] = (),
) -> Outcome:
    """The body of `open_ticket`, for callers already inside a transaction (a customer's
    reply to a closed ticket opens a linked one in the reply's transaction)."""
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
    terms = plan_terms.load(session, topic.sla_plan_id)
    clocks.start(ticket, terms, now)
    clocks.recompute(ticket, wf.definition, now, terms)
    session.add(ticket)
    session.flush()
    message = ThreadEntry(
        ticket_id=ticket.id,
        kind=EntryKind.CUSTOMER_MESSAGE,
        author_id=requester_id,
        body=clean_html(body),
        created_at=now,
    )
    session.add(message)
    if attachments:
        session.flush()  # the message's id, which the files' rows point at
        record(
            session,
            attachments,
            ticket_id=ticket.id,
            entry_id=message.id,
            uploader_id=actor.id,
            now=now,
        )
    session.execute(
        insert(TransitionLog.__table__),
        [
            log_row(
                ticket,
                actor,
                now,
                OPEN_EVENT,
                None,
                ticket.state,
                data={"linked_ticket_id": linked_ticket_id} if linked_ticket_id else None,
            )
        ],
    )
    session.flush()
    receipt = outbox.record(session, [Notify("ticket_opened", ticket.id, requester_id)], now)
    return Outcome(
        ticket,
        [
            *clocks.timers(ticket, wf.definition, terms, now, cancel_idle=False),
            *receipt,
            LiveUpdate(ticket.id, ticket.number, ticket.version),
        ],
    )
