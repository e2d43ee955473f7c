"""The record of every change an admin makes: who, when, what kind, which object, what changed.

One append-only table serves every admin feature (workflows, SLA plans, people), so the
history page can show them side by side. `record` adds a row to the caller's transaction and
never commits: the change and its record are saved together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.models import AdminChange, User
from workflow.rules import Actor

MAX_SUBJECT = 200
MAX_KIND = 60


def record(
    session: Session,
    actor: Actor,
    now: datetime,
    kind: str,
    subject: str,
    summary: str,
    details: Mapping[str, Any] | None = None,
) -> AdminChange:
    """Add one history row to the session (flushed, not committed).

    `kind` is `area.verb` (`workflow.publish`, `sla_plan.update`); `subject` names the object
    (a workflow's key, a plan's name); `summary` is a sentence for people; `details` is any
    JSON-able mapping (a diff, a state mapping) shown under the summary.
    """
    if not kind or len(kind) > MAX_KIND:
        raise ValueError(f"a history kind is 1 to {MAX_KIND} characters, not {kind!r}")
    row = AdminChange(
        at=now,
        actor_id=actor.id,
        actor_role=actor.role,
        kind=kind,
        subject=subject[:MAX_SUBJECT],
        summary=summary,
        details=dict(details) if details else None,
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Entry:
    """A history row with the name of the person who made the change."""

    id: int
    at: datetime
    who: str
    role: str
    kind: str
    subject: str
    summary: str
    details: Mapping[str, Any] | None


def recent(
    session: Session,
    *,
    area: str | None = None,
    subject: str | None = None,
    limit: int = 100,
) -> list[Entry]:
    """The latest changes, newest first: all of them, or one area's (`workflow`), or one
    object's. One query, whatever the number of people involved."""
    query = (
        select(AdminChange, User.name)
        .outerjoin(User, AdminChange.actor_id == User.id)
        .order_by(AdminChange.at.desc(), AdminChange.id.desc())
        .limit(limit)
    )
    if area is not None:
        query = query.where(AdminChange.kind.startswith(f"{area}.", autoescape=True))
    if subject is not None:
        query = query.where(AdminChange.subject == subject)
    return [
        Entry(
            row.id,
            row.at,
            name or ("Ticketflow" if row.actor_id is None else "a deleted account"),
            row.actor_role,
            row.kind,
            row.subject,
            row.summary,
            row.details,
        )
        for row, name in session.execute(query)
    ]
