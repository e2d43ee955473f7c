"""Change a ticket's priority or SLA plan from its page header (`/staff/tickets/<n>/priority`,
`/staff/tickets/<n>/sla-plan`). Thin routes: check who asks and which ticket, call one
service with the version the form showed, dispatch the follow-ups, answer like every action
of the page (HTMX: the page's main fragment; without JavaScript: a 303 back to the page).
"""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from web import clock
from web.auth import staff_required
from web.extensions import db
from web.followups import after_commit
from web.forms import ActionForm
from web.staff import ticket_page
from workflow import ticket_settings
from workflow.models import Priority, Role, SlaPlan


def _version() -> int | None:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400, "The form was incomplete; reload the page and try again.")
    return form.version.data


@staff_required(Role.AGENT, Role.ADMIN)
def change_priority(number: int):
    """Give the ticket another priority."""
    ticket = ticket_page.visible_ticket(number)
    version = _version()
    outcome = ticket_settings.change_priority(
        db.session,
        ticket.id,
        request.form.get("priority_id", ""),
        current_user.actor,
        clock.now(),
        expected_version=version,
    )
    after_commit(outcome)
    name = db.session.get(Priority, outcome.ticket.priority_id).name
    return ticket_page.answer(number, f"Priority changed to {name}.")


@staff_required(Role.AGENT, Role.ADMIN)
def change_sla_plan(number: int):
    """Put the ticket under another SLA plan (or none); its clocks restart now."""
    ticket = ticket_page.visible_ticket(number)
    version = _version()
    outcome = ticket_settings.change_sla_plan(
        db.session,
        ticket.id,
        request.form.get("sla_plan_id") or None,
        current_user.actor,
        clock.now(),
        expected_version=version,
    )
    after_commit(outcome)
    plan_id = outcome.ticket.sla_plan_id
    name = db.session.get(SlaPlan, plan_id).name if plan_id else None
    status = f"SLA plan changed to {name}; its clocks restart now." if name else "SLA plan removed."
    return ticket_page.answer(number, status)
