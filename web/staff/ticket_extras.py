"""What the ticket settings, canned responses and attachments add to the agent's ticket
page: the choices of the priority and SLA plan forms, the canned responses on offer and the
ticket's files. `ticket_page.page_context` merges this in, so the whole page and each of its
HTMX fragments render from the same values. Three small queries, whatever the counts.
"""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from sqlalchemy import literal, select, union_all

from web import uploads
from web.extensions import db
from workflow import attachments, canned
from workflow.models import Priority, Role, SlaPlan, Ticket

CANNED_ROLES = (Role.AGENT, Role.ADMIN)


def settings_choices() -> dict[str, list[tuple[int, str]]]:
    """Priorities (most urgent first) and SLA plans (by name), in one query."""
    rows = db.session.execute(
        union_all(
            select(literal("priority").label("kind"), Priority.id, Priority.name),
            select(literal("plan").label("kind"), SlaPlan.id, SlaPlan.name),
        )
    ).all()
    return {
        "priorities": sorted(((i, n) for k, i, n in rows if k == "priority"), reverse=True),
        "plans": sorted(((i, n) for k, i, n in rows if k == "plan"), key=lambda p: p[1]),
    }


def context(ticket: Ticket) -> dict[str, Any]:
    """The values the partials staff/_ticket_settings.html, staff/_canned_picker.html,
    staff/_attachment_input.html and staff/_attachments.html render from."""
    role = current_user.user.role
    return {
        "settings": settings_choices(),
        "canned_responses": canned.offered(db.session) if role in CANNED_ROLES else [],
        "attachments": attachments.listing(db.session, ticket.id, public_only=False),
        "attachment_limits": uploads.limits(),
    }
