"""The checks every admin verb makes on a named row (departments, teams, help topics, SLA
plans, business calendars): the row exists, its name is given, short enough and not taken by
another row whatever its case, including by a concurrent admin a moment ago.

One place so each refusal reads the same whichever page an admin is on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.errors import InvalidInput, NotFound


def get_row(session: Session, model: type, row_id: int, what: str) -> Any:
    """The row with that id; NotFound (a 404 on the page) when there is none."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"There is no {what} with that id.")
    return row


def name_problems(
    session: Session, model: Any, name: str, what: str, longest: int, own_id: int | None = None
) -> list[str]:
    """A name is required, at most `longest` characters, and not another row's (case
    ignored); `own_id` is the row being renamed, which may keep its own name."""
    if not name:
        return [f"Give the {what} a name."]
    if len(name) > longest:
        return [f"Keep the {what}'s name under {longest} characters."]
    query = select(model.id).where(func.lower(model.name) == name.lower())
    if own_id is not None:
        query = query.where(model.id != own_id)
    if session.scalar(query) is not None:
        return [taken(what, name)]
    return []


def flush_unique(
    session: Session, name: str, what: str, refuse: Callable[[str], InvalidInput] = InvalidInput
) -> None:
    """Flush; a name a concurrent admin took after `name_problems` looked fails here on the
    unique index, and is refused with the same sentence (`refuse` builds the error a form
    expects) instead of a 500."""
    try:
        session.flush()
    except IntegrityError:
        raise refuse(taken(what, name)) from None


def taken(what: str, name: str) -> str:
    """The sentence for a name another row has."""
    article = "an" if what.startswith("SLA") else "a"
    return f"There is already {article} {what} called “{name}”; choose another name."
