"""The agent dashboard's queues: which tickets each queue holds, in which order, how many.

Queries only: the page of rows, with the names it shows (the capped counts of every queue
are in web/staff/queue_counts.py). Default order is what agents pick by: the most urgent
priority first, then the nearest SLA due time; pages continue with a keyset (no OFFSET
scans at a million tickets). Each queue reads a partial index in exactly this order
(`ix_tickets_*_queue` in workflow/models/ticket_indexes.py), so its first page is its first 50 index
entries; bench.pages measures them at 10,000 to 1,000,000 tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, literal, or_, select, true
from sqlalchemy.orm import Session, aliased

from web.staff import queue_sorts
from workflow.models import (
    Priority,
    Role,
    SlaPlan,
    Team,
    Ticket,
    User,
    UtcDateTime,
    staff_departments,
)

PAGE_SIZE = 50
COUNT_CAP = 1_000
SEARCH_COUNT_CAP = 200
NAME_IDS_CAP = 500
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
    """Narrowing of every queue: by field, and a search by number, requester email, or words
    in the subject or the requester's name. Words are a substring match (ILIKE, typed % and _
    literal), served by pg_trgm GIN indexes on PostgreSQL (the subject's and users.name's)
    and plain LIKE scans on SQLite; an email is matched whole, case-insensitively, through
    the lower(email) index."""

    department_id: int | None = None
    help_topic_id: int | None = None
    priority_id: int | None = None
    state: str | None = None
    assignee_id: int | None = None
    q: str = ""

    def where(self, requester: Any, session: Session | None = None) -> list[Any]:
        """The conditions on tickets (`requester`: a users alias the caller joins for an
        email search). A word search looks up the names it matches in `session`, which it
        then needs (see `requester_named`)."""
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
        if text.lstrip("#").isdecimal():
            clauses.append(Ticket.number == int(text.lstrip("#")))
        elif "@" in text:
            clauses.append(func.lower(requester.email) == text.lower())
        elif text:
            pattern = f"%{_escape_like(text)}%"
            if session is None:
                raise ValueError("A word search needs the session to look up names.")
            subject = Ticket.subject.ilike(pattern, escape="\\")
            clauses.append(or_(subject, requester_named(session, pattern)))
        return clauses

    def args(self) -> dict[str, Any]:
        """The non-empty filters, for links that keep them."""
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def requester_named(session: Session, pattern: str) -> Any:
    """`tickets.requester_id` among the people whose name matches `pattern` (ILIKE, `\\`
    escapes), as a condition on the tickets table alone, decided by how many people match
    (one lookup, through `ix_users_name_trgm` on PostgreSQL):

    - up to NAME_IDS_CAP people: their ids, written into the SQL (`queues.known`), so
      PostgreSQL knows how many there are, looks them up in `ix_tickets_requester` and
      BitmapOrs that with the subject's trigram scan. Under the OR an `IN (SELECT ...)` is
      only a filter, and an OR across a joined users table defeats both indexes: either way
      the planner walks the queue index and tests every row until it has a page.
      `= ANY(ARRAY(SELECT ...))` gets the same bitmaps in one statement, but the planner
      cannot know the array's size, so it takes the bitmaps for a name shared by a
      fifth of the customers too: 180-290 ms at 1,000,000 tickets, 0.8 s for everyone.
    - more (a short or very common part of a name): `IN (SELECT ...)`, a hashed subplan the
      queue index walk tests each ticket against; so many tickets match that the first
      page is found within a few thousand index entries.

    The same on SQLite and PostgreSQL: no arrays needed."""
    named = select(User.id).where(User.name.ilike(pattern, escape="\\"))
    # looked up once per request (the page's rows and its counts both ask): `session.info`
    # lives as long as the request's session
    seen = session.info.setdefault("requester_named", {})
    ids = seen.get(pattern)
    if ids is None:
        ids = seen[pattern] = session.scalars(named.limit(NAME_IDS_CAP + 1)).all()
    if len(ids) > NAME_IDS_CAP:
        return Ticket.requester_id.in_(named)
    return Ticket.requester_id.in_([known(i) for i in sorted(ids)])


def scope(user: User) -> Any:
    """Agents see their departments' tickets and their own; admins and ops see all."""
    if user.role != Role.AGENT:
        return true()
    departments = select(staff_departments.c.department_id).where(
        staff_departments.c.user_id == user.id
    )
    return or_(Ticket.department_id.in_(departments), Ticket.assignee_id == user.id)


def known(value: Any) -> Any:
    """A value of the application's own (an id loaded with the user, a state name), written
    into the SQL instead of sent as a parameter; never anything a request typed. psycopg
    prepares a statement it has run five times and PostgreSQL may then reuse a generic
    plan, costed with a guess for each parameter that grows with the table (`assignee_id =
    $1` is the average person's share of a million tickets): the counts then planned again
    on every request at 1,000,000 tickets but not at 10,000. With no parameters the
    prepared plan is the exact one and is reused at every size."""
    return literal(value, literal_execute=True)


def condition(queue: str, user: User, t: Any = Ticket) -> Any:
    """The queue's own condition, on the ticket columns of `t` (the table, or a subquery's).
    "My team" names the team ids (loaded once per request, with the user) instead of a
    subquery: the planner then reads the team index in queue order, and someone in no team
    gets an empty queue at once instead of a walk through every open ticket (1.3 s at
    1,000,000 tickets)."""
    live = t.closed_at.is_(None)
    if queue == "team":
        return and_(live, t.team_id.in_([known(team.id) for team in user.teams]))
    return {
        "mine": and_(live, t.assignee_id == known(user.id)),
        "unassigned": and_(live, t.assignee_id.is_(None), t.team_id.is_(None)),
        "open": live,
        "awaiting": and_(live, t.state == known("awaiting_customer")),
        "resolved": and_(live, t.state == known("resolved")),
        "closed": t.closed_at.is_not(None),
    }[queue]


def _order() -> tuple[Any, ...]:
    """Most urgent priority, then the nearest due time; tickets without a running clock
    after every due time (NULLS LAST, PostgreSQL's own order for an ascending column, so
    the queue indexes hand rows out already sorted: a coalesce() here would force a sort
    of every ticket in the queue)."""
    return (Ticket.priority_id.desc(), Ticket.next_due_at.asc().nulls_last(), Ticket.id)


def _after_key(priority: int, due: datetime, ticket_id: int) -> Any:
    """Rows after (priority, due, id) in `_order()`; FAR_FUTURE stands for "no due time".

    `priority_id <= priority` is spelled out so the index scan starts at that priority
    instead of filtering every more urgent ticket."""
    same = Ticket.priority_id == priority
    if due >= FAR_FUTURE:
        later = and_(same, Ticket.next_due_at.is_(None), Ticket.id > ticket_id)
    else:
        at = literal(due, UtcDateTime())
        later = and_(
            same,
            or_(
                Ticket.next_due_at > at,
                Ticket.next_due_at.is_(None),
                and_(Ticket.next_due_at == at, Ticket.id > ticket_id),
            ),
        )
    return and_(Ticket.priority_id <= priority, or_(Ticket.priority_id < priority, later))


def _named(column: Any, key: Any) -> Any:
    """`column` of the row `key` points at, as a correlated scalar subquery."""
    return select(column).where(column.table.c.id == key).scalar_subquery()


def rows(
    session: Session,
    user: User,
    queue: str,
    after: tuple | None = None,
    filters: Filters | None = None,
    sort: queue_sorts.Sort | None = None,
) -> list[Any]:
    """One page of the queue, most urgent first or in `sort`'s order (web/staff/queue_sorts.py
    says what each costs); `after` is the last row's sort key.

    The names a row shows are scalar subqueries, not joins: with five joined tables
    PostgreSQL spent about 2 ms planning the join order, four times what running the page
    costs (0.5 ms); a subquery per name is planned in microseconds and runs as the same
    primary-key lookups. The requester is joined only for an email search."""
    filters = filters or Filters()
    requester = aliased(User)
    query: Select = (
        select(
            Ticket,
            _named(User.name, Ticket.requester_id).label("requester_name"),
            _named(User.email, Ticket.requester_id).label("requester_email"),
            _named(User.name, Ticket.assignee_id).label("assignee_name"),
            _named(Team.name, Ticket.team_id).label("team_name"),
            _named(Priority.name, Ticket.priority_id).label("priority_name"),
            _named(SlaPlan.name, Ticket.sla_plan_id).label("plan_name"),
        )
        .where(scope(user), condition(queue, user), *filters.where(requester, session))
        .limit(PAGE_SIZE)
    )
    if "@" in filters.q or (sort is not None and sort.column.key == "requester"):
        query = query.join(requester, requester.id == Ticket.requester_id)
    if sort is None:
        query = query.order_by(*_order())
        if after is not None:
            query = query.where(_after_key(*after))
        return session.execute(query).all()
    assignee = aliased(User)
    if sort.column.key == "assignee":  # unassigned tickets stay, with a NULL name
        query = query.outerjoin(assignee, assignee.id == Ticket.assignee_id)
    expression = _sort_expression(sort, requester, assignee)
    query = query.order_by(*queue_sorts.order(sort, expression))
    if after is not None:
        query = query.where(queue_sorts.after(sort, expression, *after))
    return session.execute(query).all()


def _sort_expression(sort: queue_sorts.Sort, requester: Any, assignee: Any) -> Any:
    """The column `sort` orders by: a ticket column, or a joined person's name."""
    if sort.column.key == "requester":
        return requester.name
    if sort.column.key == "assignee":
        return assignee.name
    return {
        "number": Ticket.number,
        "subject": Ticket.subject,
        "state": Ticket.state,
        "priority": Ticket.priority_id,
        "due": Ticket.next_due_at,
        "updated_at": Ticket.updated_at,
    }[sort.column.key]


def sort_key(ticket: Ticket) -> tuple:
    return (ticket.priority_id, ticket.next_due_at or FAR_FUTURE, ticket.id)
