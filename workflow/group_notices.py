"""Telling a team or a department that a ticket now waits for them, with nobody assigned.

A transfer or assignment that names a team but no agent leaves the ticket to the team: its
active members hear about it (an in-app notice and a mail). A transfer to another
department with no team and no agent leaves it in that department's intake queue: its
manager hears about it. The acting person is never told about their own action.

The service that moved the ticket returns one `Notify(kind, ticket_id, None)` (workflow/
notices.py): it knows the ticket, not the team's members, and has no session to look them
up. The mail job (jobs/mail.py) calls `fan_out` after the commit: it reads the move from
the transition log (who did it, the note, when), records the in-app notices, and returns
who must get a mail. Recording is idempotent: a job that runs twice finds the notices of
the same move (same person, ticket, kind and time) and adds none.
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


def last_move(session: Session, ticket_id: int) -> TransitionLog | None:
    """The newest log row that named a team, department or agent (a transfer or an
    assignment); the newest row of all when none did."""
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


def describe(session: Session, ticket: Ticket, kind: str, moved_on_ok: bool = False) -> Move | None:
    """The move as the mail tells it, or None when the ticket has moved on since (someone
    took it, or it went to another group): then nobody is told about the old move. With
    `moved_on_ok` (a person's mail once the notices were recorded) someone taking it
    meanwhile does not matter."""
    row = last_move(session, ticket.id)
    if row is None or (ticket.assignee_id is not None and not moved_on_ok):
        return None
    if kind == TEAM_TRANSFER:
        group = session.get(Team, ticket.team_id) if ticket.team_id is not None else None
    elif ticket.team_id is None and ticket.department_id is not None:
        group = session.get(Department, ticket.department_id)
    else:
        group = None
    if group is None:
        return None
    actor = session.get(User, row.actor_id) if row.actor_id is not None else None
    return Move(row.at, row.actor_id, actor.name if actor else None, row.note, group.name)


def recipients(session: Session, ticket: Ticket, kind: str, actor_id: int | None) -> list[User]:
    """Active members of the ticket's team, or its department's manager; never the actor."""
    query = select(User).where(User.is_active.is_(True))
    if kind == TEAM_TRANSFER:
        query = query.join(team_members, team_members.c.user_id == User.id).where(
            team_members.c.team_id == ticket.team_id
        )
    else:
        manager = select(Department.manager_id).where(Department.id == ticket.department_id)
        query = query.where(User.id == manager.scalar_subquery())
    if actor_id is not None:
        query = query.where(User.id != actor_id)
    return list(session.scalars(query.order_by(User.id)))


def fan_out(session: Session, ticket_id: int, kind: str) -> list[int]:
    """Record the in-app notices of the ticket's move to a group (once per person and move)
    and commit; return the ids of the people to mail."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return []
    move = describe(session, ticket, kind)
    if move is None:
        return []
    people = recipients(session, ticket, kind, move.actor_id)
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
    session.commit()
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
