"""Who is told about a ticket change by mail: the `Notify` follow-ups a service adds.

End users hear about public replies on their ticket and about a proposed resolution (and
get a receipt when it opens: workflow/opening.py); staff hear about a ticket assigned or
transferred to them by someone else, and about escalations (workflow/step_actions.py). A
ticket left to a team with nobody assigned tells the team's members, and one left in a
department's intake queue tells its manager (workflow/group_notices.py: the job finds the
people). Each notice is a mail-outbox row written in the change's transaction
(workflow/outbox.py) and mailed by an RQ job after the commit (jobs/mail.py), with the
text of `mail_text`: about the move or reply the row pins, not the latest one. Nobody is
told about their own action.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import nh3
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import group_notices
from workflow.followups import Notify
from workflow.group_notices import DEPARTMENT_TRANSFER, TEAM_TRANSFER
from workflow.models import EntryKind, Notification, OutboxMail, ThreadEntry, Ticket, User
from workflow.rules import Actor

ASSIGNED = "assigned"
PUBLIC_REPLY = "public_reply"
RESOLUTION_REQUEST = "resolution_request"


def after_event(
    ticket: Any,
    actor: Actor,
    assignee_before: int | None,
    resolved_before: datetime | None,
    entries: Sequence[ThreadEntry],
) -> list[Notify]:
    """Notices for one fired event: a new assignee, and a public reply the event posted
    (a resolution request when the event also proposed the fix)."""
    out = []
    assignee = ticket.assignee_id
    if assignee is not None and assignee != assignee_before and assignee != actor.id:
        out.append(Notify(ASSIGNED, ticket.id, assignee))
    if actor.id is not None:  # a system event: the escalation policy says whom it tells
        out += _left_to_a_group(ticket, assignee_before)
    if any(e.kind == EntryKind.PUBLIC_REPLY for e in entries):
        resolved = ticket.resolved_at is not None and ticket.resolved_at != resolved_before
        out += public_reply(ticket, actor, RESOLUTION_REQUEST if resolved else PUBLIC_REPLY)
    return out


def _left_to_a_group(ticket: Any, assignee_before: int | None) -> list[Notify]:
    """The event left the ticket to a team (or a department's intake queue) with nobody
    assigned: one notice for the whole group, whose members the mail job looks up."""
    if ticket.assignee_id is not None:
        return []
    changes = getattr(ticket, "changes", None)  # a loaded record knows what it changed
    changed = changes().keys() if changes is not None else ()
    moved = assignee_before is not None or "team_id" in changed or "department_id" in changed
    if not moved:
        return []
    if ticket.team_id is not None:
        return [Notify(TEAM_TRANSFER, ticket.id, None, ticket.team_id)]
    if ticket.department_id is not None:
        return [Notify(DEPARTMENT_TRANSFER, ticket.id, None, ticket.department_id)]
    return []


def public_reply(ticket: Any, actor: Actor, kind: str = PUBLIC_REPLY) -> list[Notify]:
    """The requester hears about a public reply (unless they wrote it)."""
    if ticket.requester_id is None or ticket.requester_id == actor.id:
        return []
    return [Notify(kind, ticket.id, ticket.requester_id)]


# ---- what the mail says -------------------------------------------------------------------


def mail_text(
    session: Session, row: OutboxMail, ticket: Ticket, person: User, link: str | None = None
) -> tuple[str, str]:
    """Subject and body of one outbox row's mail to `person`, about what the row pins, ending
    with `link` to the ticket's page when the caller knows the address (jobs/mail.py)."""
    subject, body = _mail_text(session, row, ticket, person)
    if link:
        body += f"\nOpen the ticket: {link}\n"
    return subject, body


def _mail_text(session: Session, row: OutboxMail, ticket: Ticket, person: User) -> tuple[str, str]:
    number = f"#{ticket.number}"
    kind = row.kind
    if kind.startswith("sla."):
        notice = session.scalar(
            select(Notification.body)
            .where(
                Notification.user_id == person.id,
                Notification.ticket_id == ticket.id,
                Notification.kind == kind,
            )
            .order_by(Notification.id.desc())
            .limit(1)
        )
        _, clock, step = kind.split(".", 2)
        what = "at risk" if step == "at_risk" else "overdue"
        subject = f"[Ticketflow] {number} {what}: {clock.replace('_', ' ')}"
        return subject, f"Hello {person.name},\n\n{notice or subject}\n"
    if kind == ASSIGNED:
        move = group_notices.move_row(session, ticket.id, row.log_id)
        note = f"\n\nNote: {move.note}" if move is not None and move.note else ""
        return (
            f"[Ticketflow] {number} is now yours: {ticket.subject}",
            f"Hello {person.name},\n\nticket {number} ({ticket.subject}) was assigned to you."
            f"{note}\n",
        )
    if kind in group_notices.KINDS:
        told = group_notices.describe(
            session, ticket, kind, row.group_id, row.log_id, moved_on_ok=True
        )
        where = "your team" if kind == TEAM_TRANSFER else "your department"
        text = group_notices.notice_text(ticket, told, kind) if told else f"{number} moved."
        return (
            f"[Ticketflow] {number} was handed to {where}: {ticket.subject}",
            f"Hello {person.name},\n\n{text}\n\nAnyone in it can claim the ticket.\n",
        )
    if kind in (PUBLIC_REPLY, RESOLUTION_REQUEST):
        text = nh3.clean(_reply_body(session, ticket.id, row.entry_id), tags=set()).strip()
        if kind == RESOLUTION_REQUEST:
            return (
                f"[Ticketflow] {number}: is it solved? {ticket.subject}",
                f"Hello {person.name},\n\n{text}\n\nPlease confirm in the Support Center "
                "that this solves it, or tell us what is still wrong.\n",
            )
        return (
            f"[Ticketflow] {number}: a reply about {ticket.subject}",
            f"Hello {person.name},\n\n{text}\n\nYou can answer in the Support Center.\n",
        )
    if kind == "ticket_opened":
        return (
            f"[Ticketflow] We received your request {number}: {ticket.subject}",
            f"Hello {person.name},\n\nthank you for your message. Your request has the number "
            f"{number}; you can follow it and reply in the Support Center.\n",
        )
    return (
        f"[Ticketflow] {number} was updated: {ticket.subject}",
        f"Hello {person.name},\n\nticket {number} ({ticket.subject}) was updated.\n",
    )


def _reply_body(session: Session, ticket_id: int, entry_id: int | None) -> str:
    """The pinned public reply, or (none pinned) the latest one."""
    query = select(ThreadEntry.body).where(
        ThreadEntry.ticket_id == ticket_id, ThreadEntry.kind == EntryKind.PUBLIC_REPLY
    )
    if entry_id is not None:
        query = query.where(ThreadEntry.id == entry_id)
    return session.scalar(query.order_by(ThreadEntry.id.desc()).limit(1)) or ""
