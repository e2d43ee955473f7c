"""The small lists staff pages offer (agents, teams, departments, topics, priorities) and the
names a ticket's header shows, each in one statement.

A statement is a round trip, and on a busy server each round trip costs more than the
work it asks for (the process waits for the CPU again after every answer): the ticket page
made eleven of these, the dashboard four. Lists come back as (id, name) pairs, exactly as
the separate queries returned them; the header's names as `Named` values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import literal, null, select, union_all
from sqlalchemy.orm import Session

from web.staff.queues import known
from workflow.models import Department, HelpTopic, Priority, Role, SlaPlan, Team, Ticket, User

ASSIGNABLE = (Role.AGENT, Role.ADMIN)


def _lists(session: Session, *parts: Any) -> dict[str, list[tuple[int, str]]]:
    """UNION ALL of (kind, id, name) selects, ordered by kind and name, split by kind."""
    found: dict[str, list[tuple[int, str]]] = {}
    for kind, id_, name in session.execute(union_all(*parts).order_by("kind", "name")):
        found.setdefault(kind, []).append((id_, name))
    return found


def _kind(name: str) -> Any:
    """A list's name, written into the SQL (queues.known): with no parameters at all, the
    statement psycopg prepares keeps one exact plan instead of being planned again on each
    request once the user table is large."""
    return known(name).label("kind")


def _agents() -> Any:
    """Active agents and admins (ix_users_role finds them among the customers)."""
    return select(_kind("agents"), User.id, User.name.label("name")).where(
        User.is_active, User.role.in_([known(role.value) for role in ASSIGNABLE])
    )


def handover(session: Session) -> dict[str, list[tuple[int, str]]]:
    """Who and where a ticket can be handed to: agents, teams, departments (by name)."""
    found = _lists(
        session,
        _agents(),
        select(_kind("teams"), Team.id, Team.name),
        select(_kind("departments"), Department.id, Department.name),
    )
    return {kind: found.get(kind, []) for kind in ("agents", "teams", "departments")}


def filters(session: Session) -> dict[str, list[tuple[int, str]]]:
    """The dashboard's filter options; priorities most urgent first, the rest by name."""
    found = _lists(
        session,
        select(_kind("departments"), Department.id, Department.name),
        select(_kind("topics"), HelpTopic.id, HelpTopic.name),
        select(_kind("priorities"), Priority.id, Priority.name),
        _agents(),
    )
    found["priorities"] = sorted(found.get("priorities", []), reverse=True)
    return {kind: found.get(kind, []) for kind in ("departments", "topics", "priorities", "agents")}


@dataclass(frozen=True)
class Named:
    """What the ticket header shows of a person or a setting."""

    name: str
    email: str | None = None


HEADER = (
    ("requester", User, "requester_id"),
    ("assignee", User, "assignee_id"),
    ("team", Team, "team_id"),
    ("department", Department, "department_id"),
    ("topic", HelpTopic, "help_topic_id"),
    ("priority", Priority, "priority_id"),
    ("plan", SlaPlan, "sla_plan_id"),
)


def header_names(session: Session, ticket: Ticket) -> dict[str, Named | None]:
    """The requester, assignee, team, department, help topic, priority and SLA plan of the
    ticket (None where it has none), by name, in one statement: a UNION ALL of primary-key
    lookups. (A join of the seven tables from the ticket costs PostgreSQL more to plan than
    the seven lookups cost to run: 4-7 ms against 2-3 ms; this is under 1 ms.)"""
    parts = [
        select(
            literal(key).label("kind"),
            model.name.label("name"),
            (model.email if model is User else null()).label("email"),
        ).where(model.id == getattr(ticket, column))
        for key, model, column in HEADER
        if getattr(ticket, column) is not None
    ]
    found = {kind: Named(name, email) for kind, name, email in session.execute(union_all(*parts))}
    return {key: found.get(key) for key, _model, _column in HEADER}
