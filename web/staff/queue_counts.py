"""How many tickets each dashboard queue holds, capped: past `queues.COUNT_CAP` a queue says
"1,000+". Every count is one statement of index-only scans that read about as many index
entries as they count, at 10,000 tickets as at 1,000,000; bench.pages measures them.

An admin's counts read the queues' own indexes (`ix_tickets_*_queue`): the first
COUNT_CAP + 1 entries, all of them in the queue. An agent sees their departments' tickets and
the ones assigned to them; as a filter on those same indexes that scope made each count read
about five times the entries it counted (with one department of five), and more as the help
desk grows (at 10,000 tickets a department's queue ends before the cap; at 1,000,000 the
count reads some 5,000 entries per queue: 2 ms became 7-10 ms). So an agent's counts add two
parts that each read only what they count:

- in their departments: the `ix_tickets_department_*` indexes lead with the department, so
  `department_id IN (...)` is a range of exactly the queue's entries of those departments;
- assigned to them in other departments (rare: a ticket moved after it was claimed, a
  department the agent left): ranges of `ix_tickets_assignee_department` between the
  agent's departments, at most COUNT_CAP + 1 tickets, sorted into the queues with FILTER.

"My tickets" needs neither: a ticket assigned to the agent is always in their scope, so it is
the range of `ix_tickets_assignee_queue`. Under a search the matches come through the
search's own index instead (`_search_counts`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, and_, func, select, union_all
from sqlalchemy.orm import Session, aliased

from web.staff import queues
from workflow.models import Role, Ticket, User


def counts(session: Session, user: User, filters: queues.Filters | None = None) -> dict[str, str]:
    """Each queue's size as the dashboard shows it ("12", "1,000+"), in one statement."""
    filters = filters or queues.Filters()
    if filters.q.strip():
        return _search_counts(session, user, filters)
    narrowing = filters.where(aliased(User))  # no search: the requester is not involved
    if user.role == Role.AGENT:
        return _agent_counts(session, user, narrowing)
    tally = _built(
        ("all", user.id, _team_ids(user)),
        narrowing,
        lambda: select(
            *(_capped(queues.condition(q.key, user), *narrowing) for q in queues.QUEUES)
        ),
    )
    found = session.execute(tally).one()
    return {q.key: _shown(n) for q, n in zip(queues.QUEUES, found, strict=True)}


_BUILT: dict[tuple[Any, ...], Select] = {}
_BUILT_MAX = 2048


def _team_ids(user: User) -> tuple[int, ...]:
    return tuple(sorted(team.id for team in user.teams))


def _built(key: tuple[Any, ...], narrowing: list[Any], build: Callable[[], Select]) -> Select:
    """The counts statement for `key` (the person and everything of theirs it names), built
    once per process: building it costs 4-5 ms of Python per dashboard page (SQLAlchemy's
    construction and coercion of some forty clauses), more than the index reads it makes.
    It holds only the application's own values (`queues.known`), so it is the same for every
    request of that person until their departments or teams change, which changes the key.
    Filtered counts (`narrowing` carries what a request typed) are built per request."""
    if narrowing:
        return build()
    statement = _BUILT.get(key)
    if statement is None:
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.clear()
        statement = _BUILT[key] = build()
    return statement


def _limit(n: int) -> Any:
    """LIMIT `n` in the SQL (`queues.known`): for `LIMIT $1` a generic plan assumes a tenth
    of the table."""
    return queues.known(n)


def _capped(*where: Any) -> Any:
    """How many tickets match `where`, reading at most COUNT_CAP + 1 of them."""
    rows = select(Ticket.id).where(*where).limit(_limit(queues.COUNT_CAP + 1)).subquery()
    return select(func.count()).select_from(rows).scalar_subquery()


def _shown(n: int, lower_bound: bool = False) -> str:
    cap = queues.COUNT_CAP
    if n > cap:
        return f"{cap:,}+"
    return f"{n:,}+" if lower_bound else f"{n:,}"


def _agent_counts(session: Session, user: User, narrowing: list[Any]) -> dict[str, str]:
    """Departments' part plus the assigned-elsewhere part, per queue; one statement."""
    departments = sorted(d.id for d in user.departments)

    def build() -> Select:
        inside = [_inside(q.key, user, departments, narrowing) for q in queues.QUEUES]
        elsewhere = _assigned_elsewhere(user.id, departments, narrowing)
        m = elsewhere.limit(_limit(queues.COUNT_CAP + 1)).subquery()
        return select(
            *inside,
            func.count(),
            *(func.count().filter(queues.condition(q.key, user, m.c)) for q in queues.QUEUES),
        ).select_from(m)

    key = ("agent", user.id, tuple(departments), _team_ids(user))
    found = session.execute(_built(key, narrowing, build)).one()
    n = len(queues.QUEUES)
    ours, total, theirs = found[:n], found[n], found[n + 1 :]
    partial = total > queues.COUNT_CAP  # the elsewhere part stopped at the cap
    shown = {}
    for q, a, b in zip(queues.QUEUES, ours, theirs, strict=True):
        if q.key == "mine":  # already counted whole by its own range
            shown[q.key] = _shown(a)
        else:
            shown[q.key] = _shown(a + b, lower_bound=partial)
    return shown


def _inside(queue: str, user: User, departments: list[int], narrowing: list[Any]) -> Any:
    """The queue's count in the agent's departments (all of "My tickets")."""
    if queue == "mine":
        return _capped(queues.condition(queue, user), *narrowing)
    if not departments:
        return select(0).scalar_subquery()
    theirs = Ticket.department_id.in_([queues.known(d) for d in departments])
    return _capped(theirs, queues.condition(queue, user), *narrowing)


def _assigned_elsewhere(user_id: int, departments: list[int], narrowing: list[Any]) -> Select:
    """The agent's tickets outside `departments` (sorted ids): one range of
    `ix_tickets_assignee_department` per gap between them, so nothing in their departments
    is read (a `NOT IN` would read every ticket they were ever assigned)."""
    bounds = [None, *departments, None]
    gaps = []
    for low, high in zip(bounds, bounds[1:], strict=False):
        if low is not None and high is not None and high - low < 2:
            continue  # adjacent ids: no department between them
        where = [Ticket.assignee_id == queues.known(user_id), *narrowing]
        if low is not None:
            where.append(Ticket.department_id > queues.known(low))
        if high is not None:
            where.append(Ticket.department_id < queues.known(high))
        gaps.append(
            select(Ticket.assignee_id, Ticket.team_id, Ticket.state, Ticket.closed_at).where(
                and_(*where)
            )
        )
    return gaps[0] if len(gaps) == 1 else union_all(*gaps).subquery().select()


def _search_counts(session: Session, user: User, filters: queues.Filters) -> dict[str, str]:
    """Under a search, one statement: the matches come through the search's own index (the
    number, lower(email), the subject's trigrams), at most SEARCH_COUNT_CAP + 1 of them,
    and are sorted into the queues with FILTER. Seven queue-by-queue counts would each
    rebuild the trigram bitmap: 20-35 ms apiece for a word in 8% of a million subjects.
    Past the cap the counts are lower bounds, and say so ("12+")."""
    cap = queues.SEARCH_COUNT_CAP
    requester = aliased(User)
    matches = select(Ticket.assignee_id, Ticket.team_id, Ticket.state, Ticket.closed_at).where(
        queues.scope(user),
        *filters.where(requester, session),
    )
    if "@" in filters.q:
        matches = matches.join(requester, requester.id == Ticket.requester_id)
    m = matches.limit(_limit(cap + 1)).subquery()
    each_queue = (func.count().filter(queues.condition(q.key, user, m.c)) for q in queues.QUEUES)
    tally = select(func.count(), *each_queue).select_from(m)
    total, *each = session.execute(tally).one()
    more = "+" if total > cap else ""
    return {q.key: f"{min(n, cap):,}{more}" for q, n in zip(queues.QUEUES, each, strict=True)}
