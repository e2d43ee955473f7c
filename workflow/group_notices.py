"""Telling a team or a department that a ticket now waits for them, with nobody assigned.

A transfer or assignment that names a team but no agent leaves the ticket to the team: its
active members hear about it (an in-app notice and a mail). A transfer to another
department with no team and no agent leaves it in that department's intake queue: its
manager hears about it. The acting person is never told about their own action.

The service that moved the ticket returns one `Notify(kind, ticket_id, None, group_id)`
(workflow/notices.py), written to the mail outbox with the move's transition-log row
pinned (workflow/outbox.py): it knows the ticket and the group, not the group's members.
The mail job (jobs/mail.py) calls `fan_out` after the commit: it reads that move (who did
it, the note, when) and that group, records the in-app notices, and returns who must get a
mail. So a ticket moved A -> B within seconds tells A's members about the move to A and
B's about the move to B; nobody hears of a move if someone has taken the ticket since.
Recording is idempotent: a job that runs twice finds the notices of the same move (same
person, ticket, kind and time) and adds none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.models import (
    Department,
    Notification,
    Team,
    Ticket,
    TransitionLog,
    User,
    team_members,
)

TEAM_TRANSFER = "team_transfer"
DEPARTMENT_TRANSFER = "department_transfer"
KINDS = (TEAM_TRANSFER, DEPARTMENT_TRANSFER)
_LOOK_BACK = 20
"""Log rows read to find the move (later events on the ticket come first)."""


@dataclass(frozen=True)
class Move:
    """The logged transfer or assignment that left the ticket to a group."""

    at: datetime
    actor_id: int | None
    actor_name: str | None
    note: str | None
    group: str
    """The team's or department's name."""
    group_id: int


def last_move(session: Session, ticket_id: int) -> TransitionLog | None:
    """The newest log row that named a team, department or agent (a transfer or an
    assignment); the newest row of all when none did. For a notice with no pinned move."""
    rows = session.scalars(
        select(TransitionLog)
        .where(TransitionLog.ticket_id == ticket_id)
        .order_by(TransitionLog.id.desc())
        .limit(_LOOK_BACK)
    ).all()
    for row in rows:
        data = row.data or {}
        if any(k in data for k in ("team_id", "department_id", "assignee_id")):
            return row
    return rows[0] if rows else None


def move_row(session: Session, ticket_id: int, log_id: int | None) -> TransitionLog | None:
    """The pinned move, or (none pinned) the latest one."""
    if log_id is not None:
        return session.get(TransitionLog, log_id)
    return last_move(session, ticket_id)


def group_of(ticket: Ticket, kind: str, group_id: int | None) -> int | None:
    """The team or department told: the pinned one, else the ticket's current one."""
    if group_id is not None:
        return group_id
    if kind == TEAM_TRANSFER:
        return ticket.team_id
    return ticket.department_id if ticket.team_id is None else None


def describe(
    session: Session,
    ticket: Ticket,
    kind: str,
    group_id: int | None = None,
    log_id: int | None = None,
    moved_on_ok: bool = False,
) -> Move | None:
    """The move as the mail tells it, or None when someone has taken the ticket since (then
    nobody is told about it) or the group is gone. With `moved_on_ok` (a person's mail once
    the notices were recorded) someone taking it meanwhile does not matter."""
    row = move_row(session, ticket.id, log_id)
    if row is None or (ticket.assignee_id is not None and not moved_on_ok):
        return None
    group_key = group_of(ticket, kind, group_id)
    model = Team if kind == TEAM_TRANSFER else Department
    group = session.get(model, group_key) if group_key is not None else None
    if group is None:
        return None
    actor = session.get(User, row.actor_id) if row.actor_id is not None else None
    return Move(row.at, row.actor_id, actor.name if actor else None, row.note, group.name, group.id)


def recipients(session: Session, kind: str, group_id: int, actor_id: int | None) -> list[User]:
    """Active members of the team, or the department's manager; never the actor."""
    query = select(User).where(User.is_active.is_(True))
    if kind == TEAM_TRANSFER:
        query = query.join(team_members, team_members.c.user_id == User.id).where(
            team_members.c.team_id == group_id
        )
    else:
        manager = select(Department.manager_id).where(Department.id == group_id)
        query = query.where(User.id == manager.scalar_subquery())
    if actor_id is not None:
        query = query.where(User.id != actor_id)
    return list(session.scalars(query.order_by(User.id)))


def fan_out(
    session: Session,
    ticket_id: int,
    kind: str,
    group_id: int | None = None,
    log_id: int | None = None,
) -> list[int]:
    """Record the in-app notices of the ticket's move to a group (once per person and move)
    in the session's transaction, which the caller commits; return the ids of the people
    to mail."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return []
    move = describe(session, ticket, kind, group_id, log_id)
    if move is None:
        return []
    people = recipients(session, kind, move.group_id, move.actor_id)
    if not people:
        return []
    noticed = set(
        session.scalars(
            select(Notification.user_id).where(
                Notification.ticket_id == ticket.id,
                Notification.kind == kind,
                Notification.created_at == move.at,
                Notification.user_id.in_([p.id for p in people]),
            )
        )
    )
    body = notice_text(ticket, move, kind)
    for person in people:
        if person.id not in noticed:
            session.add(
                Notification(
                    user_id=person.id,
                    ticket_id=ticket.id,
                    kind=kind,
                    body=body,
                    created_at=move.at,
                )
            )
    return [p.id for p in people]


def notice_text(ticket: Ticket, move: Move, kind: str) -> str:
    """One sentence for the in-app notice and the mail's first line."""
    where = f"your team {move.group}" if kind == TEAM_TRANSFER else f"the department {move.group}"
    who = f" by {move.actor_name}" if move.actor_name else ""
    text = (
        f"Ticket #{ticket.number} ({ticket.subject}) was handed to {where}{who}, "
        "with nobody assigned yet."
    )
    if move.note:
        text += f" Note: {move.note}"
    return text
