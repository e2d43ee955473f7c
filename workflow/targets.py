"""The receivers an event names (an agent, a team, a department) must exist, and an agent be
active staff who may take tickets: checked before a transition changes anything.

One small prepared statement per named receiver (workflow/prepared.py): on the transition
path the ORM's `session.get` cost several times the lookup it asked for.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, bindparam, or_, select
from sqlalchemy.orm import Session

from workflow.errors import InvalidInput
from workflow.models import Department, Role, Team, User
from workflow.prepared import Prepared

_TARGETS = (
    ("assignee_id", "The agent you chose can no longer take tickets", Prepared(
        select(User.id).where(
            User.id == bindparam("id", type_=Integer),
            User.is_active,
            or_(User.role == Role.AGENT, User.role == Role.ADMIN),
        )
    )),
    ("team_id", "The team you chose no longer exists",
        Prepared(select(Team.id).where(Team.id == bindparam("id", type_=Integer)))),
    ("department_id", "The department you chose no longer exists", Prepared(
        select(Department.id).where(Department.id == bindparam("id", type_=Integer))
    )),
)  # fmt: skip
"""Built once, run as prepared statements: an agent is active staff other than ops. The
messages name what the person chose, not its id: a select offered it (the page was loaded
before an admin deactivated or removed it), or the form was forged."""


def check_targets(session: Session, params: dict[str, Any]) -> None:
    """Referenced agents, teams and departments must exist (and agents be active staff)."""
    problems = []
    for key, gone, exists in _TARGETS:
        value = params.get(key)
        if value in (None, ""):
            continue
        try:
            found = exists.first(session, {"id": int(value)}) is not None
        except (TypeError, ValueError):
            found = False
        if not found:
            problems.append(f"{gone}; reload the page and choose another.")
    if problems:
        raise InvalidInput(problems)
