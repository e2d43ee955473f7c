"""One action on many tickets at once, from the dashboard's selection.

Each ticket goes through the same verb a single click would use (claim and assign through
the workflow's guards, a priority through `ticket_settings`), in its own transaction: one
refused ticket never holds back the others, and every ticket's outcome is reported, the
refused ones with every reason. The version each row showed is checked, so a ticket someone
changed in the meantime is reported as changed rather than overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session

from workflow import services, ticket_settings
from workflow.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaleTicket,
    TicketflowError,
    TransitionRejected,
)
from workflow.followups import FollowUp
from workflow.models import Ticket, staff_departments
from workflow.outcome import Outcome
from workflow.rules import Actor

ACTIONS = {
    "claim": "Claim",
    "assign": "Assign",
    "change_priority": "Change priority",
}
MAX_TICKETS = 100


@dataclass(frozen=True)
class RowResult:
    """What happened to one selected ticket."""

    number: int
    done: bool
    messages: tuple[str, ...] = ()


@dataclass
class BulkResult:
    """Every selected ticket's outcome, in the order selected, and the follow-ups of those
    that changed (to dispatch; each was committed on its own)."""

    action: str
    rows: list[RowResult] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def follow_ups(self) -> list[FollowUp]:
        return [f for outcome in self.outcomes for f in outcome.follow_ups]

    @property
    def done(self) -> int:
        return sum(row.done for row in self.rows)


def _visible(session: Session, actor: Actor, numbers: list[int]) -> dict[int, int]:
    """number -> id of the selected tickets this person may see (one query)."""
    scope: Any = true()
    if actor.role == "agent":
        mine = select(staff_departments.c.department_id).where(
            staff_departments.c.user_id == actor.id
        )
        scope = or_(Ticket.department_id.in_(mine), Ticket.assignee_id == actor.id)
    rows = session.execute(
        select(Ticket.number, Ticket.id).where(Ticket.number.in_(numbers), scope)
    ).all()
    return {number: ticket_id for number, ticket_id in rows}


def _messages(exc: TicketflowError) -> tuple[str, ...]:
    if isinstance(exc, TransitionRejected):
        return tuple(exc.reasons)
    if isinstance(exc, InvalidInput):
        return tuple(exc.messages)
    return (str(exc),)


def apply_to_many(
    session: Session,
    action: str,
    selected: Mapping[int, int | None],
    actor: Actor,
    now: datetime,
    **params: Any,
) -> BulkResult:
    """Apply `action` (a key of ACTIONS) to each ticket of `selected` (number -> the version
    the person saw, or None) as `actor`. `params`: `assignee_id` and/or `team_id` for
    assign, `priority_id` for change_priority.

    Refused outright (nothing changes): an unknown action, an empty or too large selection,
    someone who is neither agent nor admin, an assign without a target or a priority change
    without a priority. Otherwise each ticket is tried in its own transaction and reported.
    """
    if actor.role not in ("agent", "admin"):
        raise PermissionDenied("Only agents and admins act on tickets from the dashboard.")
    if action not in ACTIONS:
        raise InvalidInput("Choose one of the actions offered for the selected tickets.")
    if not selected:
        raise InvalidInput("Select at least one ticket first.")
    if len(selected) > MAX_TICKETS:
        raise InvalidInput(f"Select at most {MAX_TICKETS} tickets at a time.")
    if action == "assign" and not (params.get("assignee_id") or params.get("team_id")):
        raise InvalidInput("Choose the agent or team to assign the selected tickets to.")
    if action == "change_priority" and not params.get("priority_id"):
        raise InvalidInput("Choose the priority to give the selected tickets.")
    ids = _visible(session, actor, list(selected))
    result = BulkResult(action)
    for number, version in selected.items():
        ticket_id = ids.get(number)
        if ticket_id is None:
            result.rows.append(RowResult(number, False, (ticket_settings.NOT_VISIBLE,)))
            continue
        try:
            outcome = _one(session, action, ticket_id, version, actor, now, params)
        except (TransitionRejected, InvalidInput, StaleTicket, NotFound, PermissionDenied) as exc:
            result.rows.append(RowResult(number, False, _messages(exc)))
            continue
        result.outcomes.append(outcome)
        result.rows.append(RowResult(number, True))
    return result


def _one(
    session: Session,
    action: str,
    ticket_id: int,
    version: int | None,
    actor: Actor,
    now: datetime,
    params: Mapping[str, Any],
) -> Outcome:
    if action == "change_priority":
        return ticket_settings.change_priority(
            session, ticket_id, params["priority_id"], actor, now, expected_version=version
        )
    targets = {k: params[k] for k in ("assignee_id", "team_id") if params.get(k)}
    return services.apply_event(
        session,
        ticket_id,
        action,
        actor,
        now,
        expected_version=version,
        **(targets if action == "assign" else {}),
    )
