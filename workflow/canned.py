"""Canned responses: reply templates admins keep, filled in for one ticket by one agent.

A template names its blanks in braces: `{requester_first_name}`, `{ticket_number}`,
`{agent_name}`. Anything else in braces is refused when the template is saved (with a
sentence naming it), so an agent never sends a reply with a hole in it. Filling in never
uses `str.format` (which would let a template reach into objects); the values are escaped
as text and the result is sanitised like every body, so a requester called `<script>`
stays a name.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow import admin_history
from workflow.errors import InvalidInput, NotFound, PermissionDenied
from workflow.models import CannedResponse, Ticket, User
from workflow.outcome import transaction
from workflow.rules import Actor
from workflow.sanitize import clean_html

PLACEHOLDERS = {
    "requester_first_name": "the customer's first name",
    "ticket_number": "the ticket's number",
    "agent_name": "your name (the agent sending the reply)",
}
BLANK = re.compile(r"\{([^{}]*)\}")
MAX_NAME = 120
MAX_BODY = 20_000


@dataclass(frozen=True)
class Values:
    """What the placeholders stand for in one reply."""

    requester_first_name: str
    ticket_number: str
    agent_name: str


def problems(name: str, body: str) -> list[str]:
    """Everything wrong with a template, as sentences (empty when it can be saved)."""
    found = []
    if not (name or "").strip():
        found.append("Give the canned response a name agents will recognise.")
    elif len(name.strip()) > MAX_NAME:
        found.append(f"Keep the name under {MAX_NAME} characters.")
    if not (body or "").strip():
        found.append("Write the text of the canned response.")
    elif len(body) > MAX_BODY:
        found.append(f"Keep the text under {MAX_BODY:,} characters.")
    unknown = sorted({m.group(1) for m in BLANK.finditer(body or "")} - set(PLACEHOLDERS))
    if unknown:
        listed = ", ".join("{" + u + "}" for u in unknown)
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        found.append(
            f"The text uses {listed}, which Ticketflow cannot fill in; "
            f"the placeholders are {known}."
        )
    return found


def fill(body: str, values: Values) -> str:
    """The template with its placeholders filled in, sanitised. Unknown placeholders (a
    template saved before a placeholder was retired) are left visible, never guessed."""

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        return (
            html.escape(getattr(values, key), quote=False)
            if key in PLACEHOLDERS
            else match.group(0)
        )

    return clean_html(BLANK.sub(value, body))


def _require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise PermissionDenied("Only admins manage canned responses.")


def save(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    name: str,
    body: str,
    is_active: bool = True,
    canned_id: int | None = None,
) -> CannedResponse:
    """Create a canned response, or change the one with `canned_id`. Admins only; every
    problem (blank name, unknown placeholder, a name already taken) is refused at once and
    nothing is saved. Commits."""
    _require_admin(actor)
    found = problems(name, body)
    name = (name or "").strip()
    with transaction(session):
        taken = session.scalar(
            select(CannedResponse.id).where(
                func.lower(CannedResponse.name) == name.lower(),
                CannedResponse.id != (canned_id or 0),
            )
        )
        if taken is not None and name:
            found.append(f"There is already a canned response called “{name}”.")
        if found:
            raise InvalidInput(found)
        if canned_id is None:
            row = CannedResponse(name=name, body=body, created_at=now)
            session.add(row)
            verb, summary = "create", f"Added the canned response “{name}”."
        else:
            row = get(session, canned_id)
            verb, summary = "update", f"Changed the canned response “{name}”."
        row.name, row.body, row.is_active, row.updated_at = name, body, bool(is_active), now
        session.flush()
        admin_history.record(
            session, actor, now, f"canned.{verb}", name, summary, {"active": row.is_active}
        )
    return row


def delete(session: Session, actor: Actor, now: datetime, canned_id: int) -> str:
    """Remove a canned response for good (replies already sent keep their text); returns
    its name. Commits."""
    _require_admin(actor)
    with transaction(session):
        row = get(session, canned_id)
        session.delete(row)
        admin_history.record(
            session,
            actor,
            now,
            "canned.delete",
            row.name,
            f"Removed the canned response “{row.name}”.",
        )
    return row.name


def get(session: Session, canned_id: int) -> CannedResponse:
    row = session.get(CannedResponse, canned_id)
    if row is None:
        raise NotFound("There is no such canned response.")
    return row


def offered(session: Session) -> list[tuple[int, str]]:
    """The active canned responses, by name, for the composer's picker."""
    return list(
        session.execute(
            select(CannedResponse.id, CannedResponse.name)
            .where(CannedResponse.is_active)
            .order_by(CannedResponse.name)
        ).all()
    )


def render_for(session: Session, canned_id: int, ticket: Ticket, actor: Actor) -> str:
    """An active canned response filled in for `ticket`, as `actor` would send it. The
    caller has checked the actor may see the ticket."""
    if actor.role not in ("agent", "admin"):
        raise PermissionDenied("Only agents and admins reply to customers.")
    row = session.get(CannedResponse, canned_id)
    if row is None or not row.is_active:
        raise NotFound("There is no such canned response, or an admin switched it off.")
    requester = session.scalar(select(User.name).where(User.id == ticket.requester_id)) or ""
    first = requester.split()[0] if requester.split() else requester
    return fill(row.body, Values(first, str(ticket.number), actor.name))
