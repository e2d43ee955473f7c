"""The agent's ticket page: header, the whole thread (notes and system events included),
the composer, and one action per workflow event, enabled or disabled with its reasons.

Which inputs an event's form shows comes from the guards the definition attaches to it
(a note guard asks for a note, a reply guard for a reply, a target guard for a receiver),
so an admin's new event gets a working form without template changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, abort, flash, redirect, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import or_, select

from web import htmx, uploads
from web.auth import staff_required
from web.extensions import db
from web.followups import after_commit
from web.forms import ComposerForm, VersionForm
from web.staff import choices, ticket_extras
from workflow import attachments, services
from workflow.loading import compiled_version
from workflow.models import (
    Role,
    ThreadEntry,
    Ticket,
    TransitionLog,
    User,
    staff_departments,
)

GUARD_INPUTS = {
    "note_required": ("note",),
    "public_reply_required": ("reply",),
    "assignment_target_given": ("assignee_id", "team_id"),
    "assignment_target_differs": ("assignee_id", "team_id"),
    "transfer_target_differs": ("assignee_id", "team_id", "department_id"),
    "receiver_named": ("assignee_id", "team_id"),
}
TARGETS = ("assignee_id", "team_id", "department_id")


def find_visible(number: int) -> Ticket | None:
    """The ticket if this staff member may see it: admins and ops all, agents those of their
    departments or assigned to them."""
    query = select(Ticket).where(Ticket.number == number)
    user = current_user.user
    if user.role == Role.AGENT:
        mine = select(staff_departments.c.department_id).where(
            staff_departments.c.user_id == user.id
        )
        query = query.where(or_(Ticket.department_id.in_(mine), Ticket.assignee_id == user.id))
    return db.session.scalar(query)


def visible_ticket(number: int) -> Ticket:
    """The ticket if this staff member may see it; anything else is a 404, never a hint."""
    ticket = find_visible(number)
    if ticket is None:
        abort(404, "There is no such ticket, or it belongs to a department you do not work in.")
    return ticket


def _inputs(definition: Any, event: str) -> list[str]:
    fields: list[str] = []
    for t in definition.events[event].transitions:
        for guard in t.guards:
            for name in GUARD_INPUTS.get(guard.rule, ()):
                if name not in fields:
                    fields.append(name)
    return fields


def _thread(ticket: Ticket, definition: Any) -> list[dict[str, Any]]:
    """Entries and transition log rows, merged in time order."""
    entries = db.session.scalars(
        select(ThreadEntry).where(ThreadEntry.ticket_id == ticket.id).order_by(ThreadEntry.id)
    ).all()
    logs = db.session.scalars(
        select(TransitionLog).where(TransitionLog.ticket_id == ticket.id).order_by(TransitionLog.id)
    ).all()
    people = {e.author_id for e in entries} | {row.actor_id for row in logs}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(people))).all())
    items = [
        {
            "at": e.created_at,
            "kind": e.kind.value,
            "who": names.get(e.author_id, "Ticketflow"),
            "body": e.body,
            "order": (e.created_at, 0, e.id),
        }
        for e in entries
    ]
    labels = {s.id: s.label for s in definition.states.values()}
    for row in logs:
        event = definition.events.get(row.event)
        items.append(
            {
                "at": row.at,
                "kind": "system_event",
                "who": names.get(row.actor_id, "Ticketflow"),
                "body": None,
                "note": row.note,
                "event": event.label if event else row.event,
                "from": labels.get(row.from_state, row.from_state),
                "to": labels.get(row.to_state, row.to_state),
                "order": (row.at, 1, row.id),
            }
        )
    return sorted(items, key=lambda item: item["order"])


def page_context(ticket: Ticket, status: str | None = None) -> dict[str, Any]:
    """Everything the page and each of its fragments (the template's blocks) render from:
    a feature that adds to the page adds its values here, and HTMX answers get them too."""
    definition = compiled_version(db.session, ticket.workflow_version_id).definition
    actor = current_user.actor
    decisions = services.explain(db.session, ticket, actor, datetime.now(UTC))
    return dict(
        ticket=ticket,
        state=definition.states[ticket.state],
        decisions=decisions,
        inputs={d.event: _inputs(definition, d.event) for d in decisions},
        thread=_thread(ticket, definition),
        lookups=choices.handover(db.session),  # one statement each (web/staff/choices.py)
        names=choices.header_names(db.session, ticket),
        # formdata=None: after a POST the forms show the ticket as it is now, not what was sent
        composer=ComposerForm(formdata=None, version=ticket.version),
        button=VersionForm(formdata=None, version=ticket.version),
        status=status,
        **ticket_extras.context(ticket),  # priority/SLA forms, canned responses, attachments
    )


@staff_required()
def ticket_page(number: int):
    """Everything about one ticket, and what this person may do with it now."""
    return htmx.page("staff/ticket.html", **page_context(visible_ticket(number)))


def answer(number: int, status: str, *, composer: bool = False) -> Response:
    """What a successful change answers. HTMX: the ticket's header, actions and thread as they
    are now, with `status` on top (and, after a message was sent, an empty composer). Without
    JavaScript: `status` flashed and a 303 back to the page. If the change took the ticket out
    of this person's sight (a transfer to another department), both go to the dashboard."""
    ticket = find_visible(number)
    if ticket is None:
        flash(f"{status} Ticket #{number} is no longer in your departments.")
        target = url_for("staff.dashboard")
        if htmx.wants_fragment():
            return htmx.fragment("", headers={"HX-Redirect": target})
        return redirect(target, 303)
    if not htmx.wants_fragment():
        flash(status)
        return redirect(url_for("staff.ticket", number=number), 303)
    context = page_context(ticket, status)
    html = htmx.render_block("staff/ticket.html", "ticket_main", **context)
    if composer:
        composer_html = htmx.render_block("staff/ticket.html", "composer", **context)
        html += htmx.oob("ticket-composer", composer_html)
    else:  # the draft stays, but its version moves on, or the next Send would be stale (409)
        html += Markup(
            '<input type="hidden" id="composer-version" name="version" value="{}" '
            'hx-swap-oob="true">'
        ).format(ticket.version)
    return htmx.fragment(html)


@staff_required(Role.AGENT, Role.ADMIN)
def fire_event(number: int, event: str):
    """Fire one workflow event with what the form sent; refusals answer 422 with reasons."""
    ticket = visible_ticket(number)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400, "The form was incomplete; reload the page and try again.")
    params = {k: request.form[k] for k in TARGETS if request.form.get(k)}
    if request.form.get("reply"):
        params["reply"] = request.form["reply"]
    outcome = services.apply_event(
        db.session,
        ticket.id,
        event,
        current_user.actor,
        datetime.now(UTC),
        note=request.form.get("note") or None,
        expected_version=form.version.data,
        **params,
    )
    after_commit(outcome)
    return answer(number, "Done.")


@staff_required(Role.AGENT, Role.ADMIN, Role.OPS)
def compose(number: int):
    """A public reply to the customer, or an internal note for staff."""
    ticket = visible_ticket(number)
    form = ComposerForm()
    if not form.validate_on_submit():
        abort(422, " ".join(e for errors in form.errors.values() for e in errors))
    now, actor = datetime.now(UTC), current_user.actor
    files = uploads.from_request()  # saved with the message, in its transaction, or not at all
    if form.mode.data == "note":
        verb, status = services.add_note, "Internal note added."
    else:
        verb, status = services.reply, "Reply sent to the customer."
    with attachments.attached(db.session, uploads.store(), files, actor, now, ticket.id):
        outcome = verb(
            db.session, ticket.id, actor, now, form.body.data, expected_version=form.version.data
        )
    after_commit(outcome)
    return answer(number, status, composer=True)
