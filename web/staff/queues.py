"""The agent dashboard's queues: which tickets each queue holds, in which order, how many.

Queries only: one for the page of rows (with the names it shows joined in), one capped
count per queue. Default order is what agents pick by: the most urgent priority first, then
the nearest SLA due time; pages continue with a keyset (no OFFSET scans at a million
tickets), served by the (state | assignee | team | department, priority DESC, due) indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, literal, or_, select, true
from sqlalchemy.orm import Session, aliased

from workflow.models import (
    Priority,
    Role,
    SlaPlan,
    Team,
    Ticket,
    User,
    UtcDateTime,
    staff_departments,
    team_members,
)

PAGE_SIZE = 50
COUNT_CAP = 10_000
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class Queue:
    key: str
    label: str


QUEUES = (
    Queue("mine", "My tickets"),
    Queue("unassigned", "Unassigned"),
    Queue("team", "My team"),
    Queue("open", "All open"),
    Queue("awaiting", "Awaiting customer"),
    Queue("resolved", "Resolved (awaiting confirmation)"),
    Queue("closed", "Closed"),
)
QUEUE_KEYS = {q.key for q in QUEUES}


@dataclass(frozen=True)
class Filters:
    """Narrowing of every queue: by field, and a search by number, subject or requester
    email. Subject search is a substring match (a trigram index is the next step for it)."""

    department_id: int | None = None
    help_topic_id: int | None = None
    priority_id: int | None = None
    state: str | None = None
    assignee_id: int | None = None
    q: str = ""

    def where(self, requester: Any) -> list[Any]:
        clauses = [
            column == value
            for column, value in (
                (Ticket.department_id, self.department_id),
                (Ticket.help_topic_id, self.help_topic_id),
                (Ticket.priority_id, self.priority_id),
                (Ticket.state, self.state),
                (Ticket.assignee_id, self.assignee_id),
            )
            if value is not None
        ]
        text = self.q.strip()
        if text.lstrip("#").isdigit():
            clauses.append(Ticket.number == int(text.lstrip("#")))
        elif "@" in text:
            clauses.append(func.lower(requester.email) == text.lower())
        elif text:
            clauses.append(Ticket.subject.ilike(f"%{_escape_like(text)}%", escape="\\"))
        return clauses

    def args(self) -> dict[str, Any]:
        """The non-empty filters, for links that keep them."""
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _scope(user: User) -> Any:
    """Agents see their departments' tickets and their own; admins and ops see all."""
    if user.role != Role.AGENT:
        return true()
    departments = select(staff_departments.c.department_id).where(
        staff_departments.c.user_id == user.id
    )
    return or_(Ticket.department_id.in_(departments), Ticket.assignee_id == user.id)


def _filter(queue: str, user: User) -> Any:
    live = Ticket.closed_at.is_(None)
    my_teams = select(team_members.c.team_id).where(team_members.c.user_id == user.id)
    return {
        "mine": and_(live, Ticket.assignee_id == user.id),
        "unassigned": and_(live, Ticket.assignee_id.is_(None), Ticket.team_id.is_(None)),
        "team": and_(live, Ticket.team_id.in_(my_teams)),
        "open": live,
        "awaiting": and_(live, Ticket.state == "awaiting_customer"),
        "resolved": and_(live, Ticket.state == "resolved"),
        "closed": Ticket.closed_at.is_not(None),
    }[queue]


def _due_key() -> Any:
    """Tickets without a running clock sort after every due time."""
    return func.coalesce(Ticket.next_due_at, literal(FAR_FUTURE, UtcDateTime()))


def rows(
    session: Session,
    user: User,
    queue: str,
    after: tuple | None = None,
    filters: Filters | None = None,
) -> list[Any]:
    """One page of the queue, most urgent first; `after` is the last row's sort key."""
    assignee = aliased(User)
    requester = aliased(User)
    query: Select = (
        select(
            Ticket,
            requester.name.label("requester_name"),
            requester.email.label("requester_email"),
            assignee.name.label("assignee_name"),
            Team.name.label("team_name"),
            Priority.name.label("priority_name"),
            SlaPlan.name.label("plan_name"),
        )
        .join(requester, requester.id == Ticket.requester_id)
        .join(Priority, Priority.id == Ticket.priority_id)
        .outerjoin(assignee, assignee.id == Ticket.assignee_id)
        .outerjoin(Team, Team.id == Ticket.team_id)
        .outerjoin(SlaPlan, SlaPlan.id == Ticket.sla_plan_id)
        .where(_scope(user), _filter(queue, user), *(filters or Filters()).where(requester))
        .order_by(Ticket.priority_id.desc(), _due_key(), Ticket.id)
        .limit(PAGE_SIZE)
    )
    if after is not None:
        priority, due, ticket_id = after
        query = query.where(
            or_(
                Ticket.priority_id < priority,
                and_(Ticket.priority_id == priority, _due_key() > literal(due, UtcDateTime())),
                and_(
                    Ticket.priority_id == priority,
                    _due_key() == literal(due, UtcDateTime()),
                    Ticket.id > ticket_id,
                ),
            )
        )
    return session.execute(query).all()


def counts(session: Session, user: User, filters: Filters | None = None) -> dict[str, str]:
    """Each queue's size, capped: past COUNT_CAP a count would scan, so it says "10,000+"."""
    out = {}
    requester = aliased(User)
    narrowing = (filters or Filters()).where(requester)
    for q in QUEUES:
        query = select(Ticket.id).where(_scope(user), _filter(q.key, user), *narrowing)
        if filters is not None and filters.q and "@" in filters.q:
            query = query.join(requester, requester.id == Ticket.requester_id)
        capped = query.limit(COUNT_CAP + 1).subquery()
        n = session.scalar(select(func.count()).select_from(capped))
        out[q.key] = f"{COUNT_CAP:,}+" if n > COUNT_CAP else f"{n:,}"
    return out


def sort_key(ticket: Ticket) -> tuple:
    return (ticket.priority_id, ticket.next_due_at or FAR_FUTURE, ticket.id)
