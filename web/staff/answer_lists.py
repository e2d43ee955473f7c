"""The lists an event's HTMX answer shows, kept by each web process for a few seconds.

Every answer to a fired event renders the settings forms (priorities, SLA plans) and the
action forms' selects (active agents and admins, teams, departments), and names the header's
assignee, team, department, priority and plan from them. Read with the ticket on every
request, they were the costliest statement of a transition: about 0.45 ms of PostgreSQL CPU
(an eight-part UNION, planned afresh on each execution), more than the UPDATE itself, for
lists that change only when an admin edits people or structure (bench.http_transitions).
So each app keeps what it read for `KEEP_SECONDS`; within that window:

- a new agent, team or department can be missing from an answer's selects: the page itself
  (web/staff/choices.py reads its lists on every load) and the next answers list it;
- a deactivated agent can still be offered: the service refuses the transfer and says why;
- a renamed one keeps the old name in an answer's header until the lists are read again.

A header value that is not in the lists at all (an inactive assignee) is read by
`ticket_side.Side.names`. The lists live on the app (one set per process and app: each
test's app starts empty); the time they were read is the process's monotonic clock, which
measures an age, not a time of day.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

from flask import current_app
from sqlalchemy import literal, or_, select, union_all

from web.extensions import db
from web.staff.choices import ASSIGNABLE
from workflow.models import Department, Priority, SlaPlan, Team, User
from workflow.prepared import Prepared

KEEP_SECONDS = 10.0
KINDS = ("priorities", "plans", "agents", "teams", "departments")
_KEY = "ticketflow.answer_lists"
Lists = dict[str, list[tuple[int, str]]]


def _part(kind: str, model: Any) -> Any:
    return select(literal(kind).label("kind"), model.id, model.name.label("name"))


_READ = Prepared(
    union_all(
        _part("priorities", Priority),
        _part("plans", SlaPlan),
        # active agents and admins, as choices._agents (an OR, not IN: a prepared statement
        # carries no expanding IN parameter)
        _part("agents", User).where(
            User.is_active, or_(*(User.role == role for role in ASSIGNABLE))
        ),
        _part("teams", Team),
        _part("departments", Department),
    ).order_by("kind", "name")
)
"""Built once; ordered by kind and name as the functions they stand in for order them."""


def read() -> Lists:
    """The lists by kind (each as (id, name) pairs in name order), from this app's copy if it
    is younger than KEEP_SECONDS, else read now (one statement, in the caller's transaction).
    Callers must not change what they get: it is shared until the next read."""
    kept: tuple[float, Lists] | None = current_app.extensions.get(_KEY)
    now = monotonic()
    if kept is not None and now - kept[0] < KEEP_SECONDS:
        return kept[1]
    lists: Lists = {kind: [] for kind in KINDS}
    for kind, id_, name in _READ.all(db.session, {}):
        lists[kind].append((id_, name))
    current_app.extensions[_KEY] = (now, lists)
    return lists
